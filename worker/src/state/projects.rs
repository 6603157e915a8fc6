//! Projects: `cws:project:{name}` → project; `cws:projects` → set of names.

use domain::ports::PortError;
use domain::project::Project;

use super::{State, Updated};

fn key(name: &str) -> String {
    format!("cws:project:{name}")
}

impl State {
    /// Creates the project unless the name is taken; returns the holder when it is.
    pub async fn create_project(
        &self,
        project: &Project,
    ) -> Result<Result<(), Project>, PortError> {
        let created = self.create(&key(&project.name), project).await?;
        if created.is_ok() {
            self.records
                .add_member("cws:projects", &project.name)
                .await?;
        }
        Ok(created)
    }

    pub async fn project(&self, name: &str) -> Result<Option<Project>, PortError> {
        self.read(&key(name)).await
    }

    /// Every project, by name.
    pub async fn projects(&self) -> Result<Vec<Project>, PortError> {
        let mut names = self.records.members("cws:projects").await?;
        names.sort();
        let keys: Vec<String> = names.iter().map(|n| key(n)).collect();
        self.read_many(&keys).await
    }

    pub async fn update_project<R, E>(
        &self,
        name: &str,
        change: impl Fn(&Project) -> Result<(Project, R), E>,
    ) -> Result<Updated<R, E>, PortError> {
        self.update(&key(name), change).await
    }
}
