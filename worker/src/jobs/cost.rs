//! `project cost NAME [--by-user | --by-institution] [--month YYYY-MM]` and
//! `project status NAME [--detail]`: the month's cost attribution and where the project stands,
//! computed from the usage ledger by the pure maths in `domain::ledger`.

use std::collections::BTreeSet;

use domain::audit::AuditAction;
use domain::budget::month_bounds;
use domain::command::{ProjectCost, ProjectStatus, YearMonth};
use domain::identity::Permission;
use domain::job::CommandJob;
use domain::ledger::{CostReport, cost_report, totals};
use domain::message::{self, ProjectNow};
use domain::ports::InstanceState;
use domain::ports::PortError;
use domain::pricing::{Money, PricingTable};
use domain::project::Project;
use domain::workspace::Workspace;
use time::OffsetDateTime;

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, authorize};
use crate::jobs::policy::budget_position;
use crate::state::State;

pub(crate) async fn command_project_cost(
    env: &CommandEnv,
    job: &CommandJob,
    cost: &ProjectCost,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, Some(&cost.name), Permission::View).await? else {
        return Ok(());
    };
    let now = env.clock.now();
    let month = cost.month.unwrap_or_else(|| YearMonth::of(now));
    let report = month_report(
        &env.state,
        &env.launch.offerings.pricing,
        &member.project,
        month,
        now,
    )
    .await?;
    let verified = verified_institutions(&env.state, &member.project).await?;
    let reply = message::project_cost(
        &member.project.name,
        month,
        &report,
        cost.breakdown,
        &verified,
    );
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The institutions a member's verified identity vouches for: the member's profile carries
/// the identity and the institution it names.
async fn verified_institutions(
    state: &State,
    project: &Project,
) -> Result<BTreeSet<String>, PortError> {
    let mut members = vec![project.owner.clone()];
    for invitation in state.invitations(&project.name).await? {
        members.extend(invitation.devices);
    }
    let mut verified = BTreeSet::new();
    for identity in members {
        if let Some(profile) = state.member_profile(&project.name, &identity).await?
            && let Some(identity) = &profile.verified_identity
            && profile.institution == identity.institution()
        {
            verified.insert(profile.institution);
        }
    }
    Ok(verified)
}

pub(crate) async fn command_project_status(
    env: &CommandEnv,
    job: &CommandJob,
    status: &ProjectStatus,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, Some(&status.name), Permission::View).await? else {
        return Ok(());
    };
    let now = env.clock.now();
    let month = YearMonth::of(now);
    let project = &member.project;
    let report = month_report(
        &env.state,
        &env.launch.offerings.pricing,
        project,
        month,
        now,
    )
    .await?;
    let budget = budget_position(&env.state, &env.launch.offerings.pricing, project, now).await?;
    let workspaces: Vec<Workspace> = env
        .launch
        .store
        .all()
        .await?
        .into_iter()
        .filter(|w| w.attribution.project == project.name && w.state != InstanceState::Terminated)
        .collect();
    let (start, _) = month_bounds(now);
    let violations = env
        .state
        .audit_events(&project.name)
        .await?
        .iter()
        .filter(|event| event.action == AuditAction::PolicyViolation && event.at >= start)
        .count();
    let volumes = if status.detail {
        env.state.volumes_with_mounts(&project.name).await?
    } else {
        Vec::new()
    };
    let reply = message::project_status(
        &project.name,
        month,
        &report,
        &ProjectNow {
            budget: &budget,
            workspaces: &workspaces,
            violations,
            volumes: &volumes,
        },
        status.detail,
    );
    env.answer(&job.reply, &job.requester, &reply).await
}

/// The month's report up to `now` (a month in progress counts what ran so far, not what would
/// run by its end), with the rollover of every earlier month since the project began: what each
/// month left unspent of its budget (overspent months carry nothing over). The month in progress
/// and the rollover come from the month's checkpoint; an earlier month reads the whole ledger.
pub(crate) async fn month_report(
    state: &State,
    pricing: &PricingTable,
    project: &Project,
    month: YearMonth,
    now: OffsetDateTime,
) -> Result<CostReport, PortError> {
    let budget = project.monthly_budget;
    let storage = |region: &str| pricing.ebs_gb_month(region).unwrap_or_default();
    let (start, end) = month_bounds(month.first_instant());
    let wanted = (start, end.min(now.max(start)));
    let current = state
        .month_ledger(&project.name, project.created_at, now, storage)
        .await?;
    let checkpoint = &current.checkpoint;
    if start == checkpoint.at {
        let rollover = checkpoint.rollover(start, budget);
        return Ok(cost_report(
            &current.events,
            wanted,
            budget,
            rollover,
            storage,
        ));
    }
    let events = state.ledger(&project.name).await?;
    let rollover = if start < checkpoint.at {
        checkpoint.rollover(start, budget)
    } else {
        // A month not begun yet: the month in progress and any between count as if closed.
        let mut earlier = Vec::new();
        let mut bounds = month_bounds(checkpoint.at);
        while bounds.0 < start {
            earlier.push(bounds);
            bounds = month_bounds(bounds.1);
        }
        let after: i64 = totals(&events, &earlier, storage)
            .into_iter()
            .map(|spent| (budget.micros() - spent.micros()).max(0))
            .sum();
        checkpoint.rollover(start, budget) + Money::from_micros(after)
    };
    Ok(cost_report(&events, wanted, budget, rollover, storage))
}
