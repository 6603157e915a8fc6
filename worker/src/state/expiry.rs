//! Where each invitation stands in its ending: `cws:expiry-schedule` → invitations by when the
//! expiry sweep next looks at them; `cws:expiry:{invitation}` → the stages and end steps done for
//! its current end (a record kept for an earlier end counts as empty); `…:shares` → snapshots
//! shared.

use std::collections::HashMap;

use domain::expiry::{ExpiryRecord, Timeline};
use domain::invitation::Invitation;
use domain::ports::PortError;
use domain::token::InvitationId;
use time::OffsetDateTime;

use super::{State, corrupt, to_json};

/// Invitations by the time the expiry sweep should next look at them.
const EXPIRY_SCHEDULE: &str = "cws:expiry-schedule";

fn key(id: InvitationId) -> String {
    format!("cws:expiry:{id}")
}

fn shares_key(id: InvitationId) -> String {
    format!("cws:expiry:{id}:shares")
}

impl State {
    /// What the sweep has done for the invitation's current end.
    pub async fn expiry_record(&self, invitation: &Invitation) -> Result<ExpiryRecord, PortError> {
        let record: ExpiryRecord = self.read(&key(invitation.id)).await?.unwrap_or_default();
        Ok(record.for_end(invitation.ends_at()))
    }

    /// Applies `change` to the expiry record of the invitation's end as `invitation` has it
    /// (a record kept for another end starts over), however many workers race on it.
    pub async fn record_expiry(
        &self,
        invitation: &Invitation,
        change: impl Fn(&mut ExpiryRecord),
    ) -> Result<ExpiryRecord, PortError> {
        let key = key(invitation.id);
        loop {
            let current = self.records.get(&key).await?;
            let record: ExpiryRecord = match &current {
                Some(json) => serde_json::from_str(json).map_err(|e| corrupt(&key, e))?,
                None => ExpiryRecord::default(),
            };
            let mut record = record.for_end(invitation.ends_at());
            change(&mut record);
            if self
                .records
                .swap(&key, current.as_deref(), &to_json(&record))
                .await?
            {
                return Ok(record);
            }
        }
    }

    /// Ties a record written before records named their end to `ends_at`, the end it was
    /// written for, now that the invitation's end has moved: it then counts for nothing at
    /// the new end, so the new end's warnings go out.
    pub(super) async fn pin_expiry_record(
        &self,
        id: InvitationId,
        ends_at: OffsetDateTime,
    ) -> Result<(), PortError> {
        let key = key(id);
        loop {
            let Some(current) = self.records.get(&key).await? else {
                return Ok(());
            };
            let mut record: ExpiryRecord =
                serde_json::from_str(&current).map_err(|e| corrupt(&key, e))?;
            if record.ends_at.is_some() {
                return Ok(());
            }
            record.ends_at = Some(ends_at);
            if self
                .records
                .swap(&key, Some(&current), &to_json(&record))
                .await?
            {
                return Ok(());
            }
        }
    }

    /// Puts the invitation in the expiry schedule at its next stage, or takes it out.
    pub async fn schedule_expiry(&self, invitation: &Invitation) -> Result<(), PortError> {
        let record = self.expiry_record(invitation).await?;
        self.schedule_expiry_after(invitation, &record).await
    }

    /// [`State::schedule_expiry`] for a caller that holds the invitation's expiry record.
    pub async fn schedule_expiry_after(
        &self,
        invitation: &Invitation,
        record: &ExpiryRecord,
    ) -> Result<(), PortError> {
        let timeline = Timeline::new(invitation.planned_at(), invitation.ends_at(), record);
        let id = invitation.id.to_string();
        match timeline.next() {
            Some((_, at)) => {
                self.records
                    .schedule(EXPIRY_SCHEDULE, &id, at.unix_timestamp())
                    .await
            }
            None => self.records.unschedule(EXPIRY_SCHEDULE, &id).await,
        }
    }

    /// The invitations with a stage due at `now`, earliest first.
    pub async fn due_expiries(&self, now: OffsetDateTime) -> Result<Vec<InvitationId>, PortError> {
        self.records
            .due(EXPIRY_SCHEDULE, now.unix_timestamp())
            .await?
            .into_iter()
            .map(|id| InvitationId::try_from(id).map_err(|e| corrupt(EXPIRY_SCHEDULE, e)))
            .collect()
    }

    /// Records that a collaborator's snapshot was shared with an account: a claimed
    /// snapshot, which the clean-up after the grace period keeps.
    pub async fn record_share(
        &self,
        id: InvitationId,
        snapshot_id: &str,
        account: &str,
    ) -> Result<(), PortError> {
        self.records
            .add_member(&shares_key(id), &format!("{snapshot_id}={account}"))
            .await
    }

    /// The snapshots shared so far, each with the account it went to.
    pub async fn shares(&self, id: InvitationId) -> Result<HashMap<String, String>, PortError> {
        Ok(self
            .records
            .members(&shares_key(id))
            .await?
            .into_iter()
            .filter_map(|share| {
                share
                    .split_once('=')
                    .map(|(s, a)| (s.to_owned(), a.to_owned()))
            })
            .collect())
    }

    pub async fn unschedule_expiry(&self, id: InvitationId) -> Result<(), PortError> {
        self.records
            .unschedule(EXPIRY_SCHEDULE, &id.to_string())
            .await
    }
}
