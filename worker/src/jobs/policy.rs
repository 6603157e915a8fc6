//! `policy show` and `policy test` (also spelled `profiles policy …`, `profiles current`), and
//! `templates list --profile-filtered`, answered by the same engine and facts as a launch.

use domain::budget::BudgetPosition;
use domain::command::Launch;
use domain::identity::Permission;
use domain::job::CommandJob;
use domain::launch::{Attribution, LaunchPlan, plan_launch};
use domain::message::{self, LaunchCheck};
use domain::policy::{LaunchFacts, PolicyDecision, allowed_templates, evaluate};
use domain::ports::PortError;
use domain::pricing::PricingTable;
use domain::profile::Profile;
use domain::project::Project;
use time::OffsetDateTime;

use crate::jobs::CommandEnv;
use crate::jobs::access::{Context, Member, authorize};
use crate::state::State;

/// Where the project stands this month, from its usage ledger.
pub(crate) async fn budget_position(
    state: &State,
    pricing: &PricingTable,
    project: &Project,
    now: OffsetDateTime,
) -> Result<BudgetPosition, PortError> {
    let storage = |region: &str| pricing.ebs_gb_month(region).unwrap_or_default();
    let month = state
        .month_ledger(&project.name, project.created_at, now, storage)
        .await?;
    Ok(BudgetPosition::from_ledger(
        project.monthly_budget,
        &month.events,
        now,
        storage,
    ))
}

pub(crate) fn facts_of(plan: &LaunchPlan) -> LaunchFacts {
    LaunchFacts {
        template: plan.template.clone(),
        instance_type: plan.instance_type.clone(),
        region: plan.region.clone(),
        hourly: plan.hourly,
    }
}

/// What the member's launches are attributed to.
pub(crate) fn attribution(member: &Member) -> Attribution {
    Attribution::of(
        &member.profile,
        member.invitation.as_ref().map(|i| i.name.as_str()),
    )
}

pub(crate) async fn command_policy_show(
    env: &CommandEnv,
    job: &CommandJob,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::View).await? else {
        return Ok(());
    };
    let budget = budget_position(
        &env.state,
        &env.launch.offerings.pricing,
        &member.project,
        env.clock.now(),
    )
    .await?;
    let restrictions = member
        .invitation
        .as_ref()
        .and_then(|i| i.restrictions.as_ref());
    // The invitation's end as it is now: an extension or `collaboration end` moves it.
    let profile = Profile {
        expires_at: member.invitation.as_ref().map(|i| i.expires_at),
        ..member.profile.clone()
    };
    let reply = message::policy_show(&profile, restrictions, &budget, env.clock.now());
    env.answer(&job.reply, &job.requester, &reply).await
}

/// `templates list --profile-filtered`: the catalog as the active profile's policy leaves it.
pub(crate) async fn command_templates_for_profile(
    env: &CommandEnv,
    job: &CommandJob,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, None, Permission::View).await? else {
        return Ok(());
    };
    let restrictions = member
        .invitation
        .as_ref()
        .and_then(|i| i.restrictions.as_ref());
    let catalog = env.launch.catalog().await?;
    let allowed = allowed_templates(
        catalog.templates(),
        restrictions,
        &env.launch.offerings.pricing,
    );
    let reply = message::template_list_for_profile(
        &member.profile.name,
        &allowed,
        catalog.templates().len(),
        restrictions,
    );
    env.answer(&job.reply, &job.requester, &reply).await
}

pub(crate) async fn command_policy_test(
    env: &CommandEnv,
    job: &CommandJob,
    launch: &Launch,
) -> Result<(), PortError> {
    let Some(member) = authorize(env, job, launch.project.as_deref(), Permission::View).await?
    else {
        return Ok(());
    };
    let plan = match plan_launch(
        launch,
        &job.key,
        &attribution(&member),
        &env.launch.default_region,
        &*env.launch.catalog().await?,
        &env.launch.offerings.pricing,
    ) {
        Ok(plan) => plan,
        Err(refusal) => {
            let reply = message::launch_refused(launch.name.as_str(), &refusal);
            return env.answer(&job.reply, &job.requester, &reply).await;
        }
    };
    let facts = facts_of(&plan);
    let budget = budget_position(
        &env.state,
        &env.launch.offerings.pricing,
        &member.project,
        env.clock.now(),
    )
    .await?;
    let restrictions = member
        .invitation
        .as_ref()
        .and_then(|i| i.restrictions.as_ref());
    let violations = match evaluate(&facts, restrictions, &budget) {
        PolicyDecision::Allowed => Vec::new(),
        PolicyDecision::Refused(violations) => violations,
    };
    let reply = message::policy_test(&LaunchCheck {
        facts: &facts,
        restrictions,
        violations: &violations,
        budget: &budget,
        owner_institution: &member.project.institution,
    });
    env.answer(&job.reply, &job.requester, &reply).await
}
