//! Invitations and their names: `cws:invitation:{id}` → invitation;
//! `cws:project:{p}:invitations` → set of invitation ids;
//! `cws:project:{p}:invitation-name:{name}` → invitation id (claimed once per project).

use std::sync::Mutex;

use domain::invitation::Invitation;
use domain::ports::PortError;
use domain::token::InvitationId;

use super::{State, Updated, corrupt, to_json};

fn key(id: impl std::fmt::Display) -> String {
    format!("cws:invitation:{id}")
}

fn name_key(project: &str, name: &str) -> String {
    format!("cws:project:{project}:invitation-name:{name}")
}

fn project_key(project: &str) -> String {
    format!("cws:project:{project}:invitations")
}

impl State {
    /// Claims the name within the project and stores the invitation; `false` if the name is
    /// taken by another invitation.
    pub async fn create_invitation(&self, invitation: &Invitation) -> Result<bool, PortError> {
        let id = invitation.id.to_string();
        if !self
            .claim(&name_key(&invitation.project, &invitation.name), &id)
            .await?
        {
            return Ok(false);
        }
        self.records.put(&key(&id), &to_json(invitation)).await?;
        self.records
            .add_member(&project_key(&invitation.project), &id)
            .await?;
        self.schedule_expiry(invitation).await?;
        Ok(true)
    }

    pub async fn invitation(&self, id: InvitationId) -> Result<Option<Invitation>, PortError> {
        self.read(&key(id)).await
    }

    pub async fn invitation_named(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<Invitation>, PortError> {
        let id = self.records.get(&name_key(project, name)).await?;
        match id.map(InvitationId::try_from) {
            Some(Ok(id)) => self.invitation(id).await,
            Some(Err(e)) => Err(corrupt(name, e)),
            None => Ok(None),
        }
    }

    pub async fn invitations(&self, project: &str) -> Result<Vec<Invitation>, PortError> {
        let ids = self.records.members(&project_key(project)).await?;
        let keys: Vec<String> = ids.iter().map(key).collect();
        let mut invitations: Vec<Invitation> = self.read_many(&keys).await?;
        invitations.sort_by(|a: &Invitation, b| a.name.cmp(&b.name));
        Ok(invitations)
    }

    /// Changes an invitation; a change to when it ends moves its place in the expiry schedule.
    pub async fn update_invitation<R, E>(
        &self,
        id: InvitationId,
        change: impl Fn(&Invitation) -> Result<(Invitation, R), E>,
    ) -> Result<Updated<R, E>, PortError> {
        // The end the successful change started from (the last run of `change`).
        let before = Mutex::new(None);
        let updated = self
            .update(&key(id), |current: &Invitation| {
                *before
                    .lock()
                    .expect("never poisoned: nothing panics holding it") = Some(current.ends_at());
                change(current)
            })
            .await?;
        let before = before
            .into_inner()
            .expect("never poisoned: nothing panics holding it");
        if let (Updated::Done(_), Some(invitation)) = (&updated, self.invitation(id).await?) {
            if let Some(before) = before
                && before != invitation.ends_at()
            {
                self.pin_expiry_record(id, before).await?;
            }
            self.schedule_expiry(&invitation).await?;
        }
        Ok(updated)
    }
}
