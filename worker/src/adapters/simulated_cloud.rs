//! The embedded mode's cloud: instances exist only in memory. Ids derive from the client token,
//! so the same launch returns the same instance here too. Stops, starts and terminations change
//! state at once, and are refused where EC2 refuses them, with EC2's codes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use domain::account::Account;
use domain::launch::{LaunchPlan, TAG_SNAPSHOT_KEY};
use domain::network::{Placement, security_group_name, workstation_profile_name};
use domain::ports::{
    AccountClouds, Cloud, InstanceCommands, InstanceState, InstanceStatus, LaunchedInstance,
    Metrics, PortError, Snapshot,
};
use domain::template::ImageSource;

use crate::adapters::ec2::{
    incorrect_instance_state, instance_not_found, snapshot_not_found, unsupported_hibernation,
};

/// The image every public parameter resolves to here.
const SIMULATED_IMAGE: &str = "ami-00000000";

/// Every simulated instance has this address: nothing ever connects to it.
const PRIVATE_IP: &str = "10.0.0.10";

#[derive(Default)]
pub struct SimulatedCloud {
    /// By instance id.
    instances: Mutex<HashMap<String, SimulatedInstance>>,
    /// By snapshot id, with the accounts each is shared with.
    snapshots: Mutex<BTreeMap<String, (Snapshot, Vec<String>)>>,
}

struct SimulatedInstance {
    instance_type: String,
    root_volume_gb: u32,
    state: InstanceState,
    /// Whether the plan launched it with hibernation, which a hibernating stop needs.
    hibernation: bool,
}

/// EC2's name for a state, which `LaunchedInstance` carries as text.
fn state_name(state: InstanceState) -> &'static str {
    match state {
        InstanceState::Pending => "pending",
        InstanceState::Running => "running",
        InstanceState::Stopping => "stopping",
        InstanceState::Stopped => "stopped",
        InstanceState::ShuttingDown => "shutting-down",
        InstanceState::Terminated => "terminated",
    }
}

impl SimulatedCloud {
    /// Applies `change` to a known instance; an unknown id is refused as EC2 refuses it.
    fn change(
        &self,
        instance_id: &str,
        change: impl FnOnce(&mut SimulatedInstance) -> Result<(), PortError>,
    ) -> Result<(), PortError> {
        let mut instances = self.instances.lock().expect("simulated cloud lock");
        let instance = instances
            .get_mut(instance_id)
            .ok_or_else(|| instance_not_found(instance_id))?;
        change(instance)
    }
}

fn is_gone(state: InstanceState) -> bool {
    matches!(
        state,
        InstanceState::ShuttingDown | InstanceState::Terminated
    )
}

#[async_trait]
impl Cloud for SimulatedCloud {
    /// Everything is there: a pinned image is taken as it is, a parameter reads as one image.
    async fn place(
        &self,
        project: &str,
        _workspace: &str,
        image: &ImageSource,
    ) -> Result<Placement, PortError> {
        Ok(Placement {
            image_id: match image {
                ImageSource::Pinned(ami) => Some(ami.clone()),
                ImageSource::Parameter(_) => Some(SIMULATED_IMAGE.to_owned()),
                ImageSource::Managed => None,
            },
            subnet_id: "subnet-00000000".to_owned(),
            security_group_id: format!("sg-{}", security_group_name(project)),
            instance_profile: workstation_profile_name(project),
        })
    }

    async fn run_instance(
        &self,
        plan: &LaunchPlan,
        _placement: &Placement,
    ) -> Result<LaunchedInstance, PortError> {
        let instance_id = format!("i-{}", &plan.client_token[..17]);
        let mut instances = self.instances.lock().expect("simulated cloud lock");
        let instance = instances
            .entry(instance_id.clone())
            .or_insert_with(|| SimulatedInstance {
                instance_type: plan.instance_type.clone(),
                root_volume_gb: plan.root_volume_gb,
                state: InstanceState::Running,
                hibernation: plan.hibernation,
            });
        Ok(LaunchedInstance {
            instance_id,
            state: state_name(instance.state).to_owned(),
            private_ip: Some(PRIVATE_IP.to_owned()),
        })
    }

    /// Knows no launch time: the workers' clock may be shifted (`CWS_CLOCK_OFFSET`), and any
    /// time taken here would disagree with theirs.
    async fn describe(&self, instance_id: &str) -> Result<Option<InstanceStatus>, PortError> {
        let instances = self.instances.lock().expect("simulated cloud lock");
        Ok(instances.get(instance_id).map(|instance| InstanceStatus {
            instance_id: instance_id.to_owned(),
            state: instance.state,
            instance_type: instance.instance_type.clone(),
            public_ip: None,
            private_ip: Some(PRIVATE_IP.to_owned()),
            launched_at: None,
            zone_id: None,
        }))
    }

    async fn describe_tagged(&self) -> Result<Vec<InstanceStatus>, PortError> {
        let ids: Vec<String> = self
            .instances
            .lock()
            .expect("simulated cloud lock")
            .keys()
            .cloned()
            .collect();
        let mut statuses = Vec::with_capacity(ids.len());
        for id in ids {
            statuses.extend(self.describe(&id).await?);
        }
        Ok(statuses)
    }

    async fn stop(&self, instance_id: &str, hibernate: bool) -> Result<(), PortError> {
        self.change(instance_id, |instance| {
            if is_gone(instance.state) {
                return Err(incorrect_instance_state(instance_id, "stopped"));
            }
            if hibernate && !instance.hibernation {
                return Err(unsupported_hibernation(instance_id));
            }
            instance.state = InstanceState::Stopped;
            Ok(())
        })
    }

    async fn start(&self, instance_id: &str, _tags: &[(String, String)]) -> Result<(), PortError> {
        self.change(instance_id, |instance| {
            if is_gone(instance.state) {
                return Err(incorrect_instance_state(instance_id, "started"));
            }
            instance.state = InstanceState::Running;
            Ok(())
        })
    }

    async fn terminate(&self, instance_id: &str) -> Result<(), PortError> {
        self.change(instance_id, |instance| {
            instance.state = InstanceState::Terminated;
            Ok(())
        })
    }

    /// Each simulated instance has one volume, `vol-` and its id's digits.
    async fn snapshot_volumes(
        &self,
        instance_id: &str,
        key: &str,
        tags: &[(String, String)],
    ) -> Result<Vec<Snapshot>, PortError> {
        let size_gb = self
            .instances
            .lock()
            .expect("simulated cloud lock")
            .get(instance_id)
            .map(|instance| instance.root_volume_gb)
            .ok_or_else(|| instance_not_found(instance_id))?;
        let volume_id = format!("vol-{}", instance_id.trim_start_matches("i-"));
        let snapshot_key = format!("{key}:{volume_id}");
        let mut snapshots = self.snapshots.lock().expect("simulated cloud lock");
        if let Some((snapshot, _)) = snapshots
            .values()
            .find(|(s, _)| s.tags.get(TAG_SNAPSHOT_KEY) == Some(&snapshot_key))
        {
            return Ok(vec![snapshot.clone()]);
        }
        let mut all_tags: BTreeMap<String, String> = tags.iter().cloned().collect();
        all_tags.insert(TAG_SNAPSHOT_KEY.to_owned(), snapshot_key);
        let snapshot = Snapshot {
            snapshot_id: format!("snap-{:017x}", snapshots.len() + 1),
            volume_id,
            size_gb,
            tags: all_tags,
        };
        snapshots.insert(snapshot.snapshot_id.clone(), (snapshot.clone(), Vec::new()));
        Ok(vec![snapshot])
    }

    async fn snapshots_tagged(&self, key: &str, value: &str) -> Result<Vec<Snapshot>, PortError> {
        Ok(self
            .snapshots
            .lock()
            .expect("simulated cloud lock")
            .values()
            .filter(|(s, _)| s.tags.get(key).map(String::as_str) == Some(value))
            .map(|(s, _)| s.clone())
            .collect())
    }

    async fn share_snapshot(&self, snapshot_id: &str, account_id: &str) -> Result<(), PortError> {
        let mut snapshots = self.snapshots.lock().expect("simulated cloud lock");
        let (_, shared) = snapshots
            .get_mut(snapshot_id)
            .ok_or_else(|| snapshot_not_found(snapshot_id))?;
        if !shared.iter().any(|a| a == account_id) {
            shared.push(account_id.to_owned());
        }
        Ok(())
    }

    async fn delete_snapshot(&self, snapshot_id: &str) -> Result<(), PortError> {
        self.snapshots
            .lock()
            .expect("simulated cloud lock")
            .remove(snapshot_id);
        Ok(())
    }

    async fn archive_snapshot(&self, snapshot_id: &str) -> Result<(), PortError> {
        if self
            .snapshots
            .lock()
            .expect("simulated cloud lock")
            .contains_key(snapshot_id)
        {
            Ok(())
        } else {
            Err(PortError::Rejected {
                code: "InvalidSnapshot.NotFound".to_owned(),
                message: format!("The snapshot '{snapshot_id}' does not exist."),
            })
        }
    }

    /// Only a managed platform's workspace (Studio, Canvas) asks; the link leads nowhere (the
    /// `.invalid` domain is reserved), and says so.
    async fn sign_in_link(&self, instance_id: &str) -> Result<Option<String>, PortError> {
        self.change(instance_id, |_| Ok(()))?;
        Ok(Some(format!(
            "https://simulated-sign-in.invalid/{instance_id}"
        )))
    }
}

/// The embedded mode has one simulated cloud: every account and platform sees it.
pub struct OneCloud {
    pub cloud: Arc<dyn Cloud>,
    pub commands: Arc<dyn InstanceCommands>,
    pub metrics: Arc<dyn Metrics>,
}

#[async_trait]
impl AccountClouds for OneCloud {
    async fn cloud_in(
        &self,
        _platform: domain::template::Platform,
        _account: Option<&Account>,
        _region: &str,
    ) -> Result<Arc<dyn Cloud>, PortError> {
        Ok(self.cloud.clone())
    }

    async fn commands_in(
        &self,
        _account: Option<&Account>,
        _region: &str,
    ) -> Result<Arc<dyn InstanceCommands>, PortError> {
        Ok(self.commands.clone())
    }

    async fn metrics_in(
        &self,
        _account: Option<&Account>,
        _region: &str,
    ) -> Result<Arc<dyn Metrics>, PortError> {
        Ok(self.metrics.clone())
    }
}

#[cfg(test)]
mod tests {
    use domain::command::Launch;
    use domain::job::JobKey;
    use domain::launch::{Attribution, plan_launch};
    use domain::pricing::PricingTable;
    use domain::template::Catalog;

    use super::*;

    fn plan(template: &str, job: &str) -> LaunchPlan {
        let launch = Launch {
            template: template.to_owned(),
            name: job.parse().unwrap(),
            size: None,
            region: None,
            project: None,
        };
        let attribution = Attribution {
            project: "demo".into(),
            user: "ada".into(),
            institution: "mit".into(),
            invitation: "owner".into(),
        };
        let key = JobKey::try_from(format!("test:{job}")).unwrap();
        plan_launch(
            &launch,
            &key,
            &attribution,
            "us-east-1",
            Catalog::builtin(),
            PricingTable::builtin(),
        )
        .unwrap()
    }

    async fn placed(cloud: &SimulatedCloud, plan: &LaunchPlan) -> Placement {
        cloud
            .place("nih-neuro-consortium", plan.workspace.as_str(), &plan.image)
            .await
            .unwrap()
    }

    async fn state(cloud: &SimulatedCloud, instance_id: &str) -> InstanceState {
        cloud.describe(instance_id).await.unwrap().unwrap().state
    }

    fn code(error: PortError) -> String {
        match error {
            PortError::Rejected { code, .. } => code,
            other => panic!("expected a refusal, got {other}"),
        }
    }

    #[tokio::test]
    async fn an_instance_runs_stops_starts_and_terminates() {
        let cloud = SimulatedCloud::default();
        let plan = plan("Python Machine Learning", "ml-lifecycle");
        let id = cloud
            .run_instance(&plan, &placed(&cloud, &plan).await)
            .await
            .unwrap()
            .instance_id;
        assert_eq!(
            cloud
                .run_instance(&plan, &placed(&cloud, &plan).await)
                .await
                .unwrap()
                .instance_id,
            id
        );
        let status = cloud.describe(&id).await.unwrap().unwrap();
        assert_eq!(status.state, InstanceState::Running);
        assert_eq!(status.instance_type, plan.instance_type);

        cloud.stop(&id, false).await.unwrap();
        assert_eq!(state(&cloud, &id).await, InstanceState::Stopped);
        cloud.stop(&id, false).await.unwrap();
        assert_eq!(state(&cloud, &id).await, InstanceState::Stopped);
        cloud.start(&id, &[]).await.unwrap();
        assert_eq!(state(&cloud, &id).await, InstanceState::Running);
        cloud.stop(&id, true).await.unwrap();
        assert_eq!(state(&cloud, &id).await, InstanceState::Stopped);

        cloud.terminate(&id).await.unwrap();
        assert_eq!(state(&cloud, &id).await, InstanceState::Terminated);
        cloud.terminate(&id).await.unwrap();
        assert_eq!(
            code(cloud.stop(&id, false).await.unwrap_err()),
            "IncorrectInstanceState"
        );
        assert_eq!(
            code(cloud.start(&id, &[]).await.unwrap_err()),
            "IncorrectInstanceState"
        );
        assert_eq!(state(&cloud, &id).await, InstanceState::Terminated);
    }

    #[tokio::test]
    async fn hibernation_is_refused_without_hibernation_at_launch() {
        let cloud = SimulatedCloud::default();
        let plan = plan("GPU ML Workstation", "gpu-no-hibernation");
        assert!(!plan.hibernation);
        let id = cloud
            .run_instance(&plan, &placed(&cloud, &plan).await)
            .await
            .unwrap()
            .instance_id;
        assert_eq!(
            code(cloud.stop(&id, true).await.unwrap_err()),
            "UnsupportedHibernationConfiguration"
        );
        assert_eq!(state(&cloud, &id).await, InstanceState::Running);
        cloud.stop(&id, false).await.unwrap();
        assert_eq!(state(&cloud, &id).await, InstanceState::Stopped);
    }

    #[tokio::test]
    async fn a_managed_workspace_gets_a_sign_in_link_that_leads_nowhere() {
        let cloud = SimulatedCloud::default();
        let plan = plan("SageMaker Studio", "studio-sim");
        let id = cloud
            .run_instance(&plan, &placed(&cloud, &plan).await)
            .await
            .unwrap()
            .instance_id;
        let link = cloud.sign_in_link(&id).await.unwrap().unwrap();
        assert!(
            link.starts_with("https://simulated-sign-in.invalid/"),
            "{link}"
        );
        assert!(cloud.sign_in_link("i-0123456789abcdef0").await.is_err());
    }

    #[tokio::test]
    async fn unknown_instances_are_not_found() {
        let cloud = SimulatedCloud::default();
        let unknown = "i-0123456789abcdef0";
        assert_eq!(cloud.describe(unknown).await.unwrap(), None);
        assert_eq!(
            code(cloud.stop(unknown, false).await.unwrap_err()),
            "InvalidInstanceID.NotFound"
        );
        assert_eq!(
            code(cloud.terminate(unknown).await.unwrap_err()),
            "InvalidInstanceID.NotFound"
        );
    }
}
