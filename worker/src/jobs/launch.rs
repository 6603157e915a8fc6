//! The launch job: check who asks and the launch policy, plan, reserve the name, start the
//! instance (idempotently) with the research user's user data, record it, and post the
//! outcome. A launch the policy refuses becomes an exception request the owner can approve.

use std::sync::Arc;

use apalis_core::error::AbortError;
use apalis_core::task::data::Data;
use apalis_core::task::task_id::TaskId;
use domain::account::{Account, Accounts};
use domain::audit::{AuditAction, AuditEvent};
use domain::budget::BudgetPosition;
use domain::command::PolicyRestrictions;
use domain::exception::{ExceptionRequest, RequestId};
use domain::identity::Permission;
use domain::job::{JobKind, LaunchJob};
use domain::launch::{
    LaunchPlan, PlannedHome, PlannedUser, TAG_PROJECT, TAG_USER, one_per_person, plan_launch,
};
use domain::ledger::LedgerEventKind;
use domain::message::{self, LaunchCheck};
use domain::policy::{LaunchFacts, PolicyDecision, Violation, evaluate};
use domain::ports::{
    AccessPointRoot, AccountClouds, Chat, Clock, Cloud, FileSystems, InstanceCommands,
    InstanceStatus, Mailer, Metrics, NameClaim, PortError, PosixIdentity, Snapshot, WorkspaceStore,
};
use domain::pricing::Money;
use domain::profile::ResearchUser;
use domain::retry::Backoff;
use domain::service_secret::ServiceSecret;
use domain::template::{Offerings, Platform, Template};
use domain::template_trust::{Publishers, TemplateSigner};
use domain::token::sign_button_value;
use domain::user_data::{EfsHome, UserDataInput, is_username, render_user_data};
use domain::volume::{HOME_ROOT_PERMISSIONS, home_access_point_key, home_directory};
use domain::workspace::Workspace;

use crate::jobs::access::{Context, Member, authorize};
use crate::jobs::ops_channel::OpsChannel;
use crate::jobs::policy::{attribution, budget_position, facts_of};
use crate::jobs::volumes::TAG_VOLUME;
use crate::jobs::{alerts, dead_letter, with_retries};
use crate::metrics::WorkerMetrics;
use crate::state::State;

/// The ports and facts the launch job uses, and nothing else.
pub struct LaunchEnv {
    /// The project's own account.
    pub cloud: Arc<dyn Cloud>,
    /// Collaborators' accounts, for workspaces their invitation launches there.
    pub account_clouds: Arc<dyn AccountClouds>,
    pub accounts: Accounts,
    pub chat: Arc<dyn Chat>,
    pub store: Arc<dyn WorkspaceStore>,
    pub state: State,
    pub clock: Arc<dyn Clock>,
    pub default_region: String,
    pub backoff: Backoff,
    /// How long a refused launch's exception request waits for a decision.
    pub exception_ttl: time::Duration,
    /// Budget alerts go by e-mail as well as by DM.
    pub mailer: Arc<dyn Mailer>,
    /// Every job kind's counts and timings, not only launches'.
    pub metrics: Arc<WorkerMetrics>,
    /// The templates and prices read at start (`CWS_TEMPLATES_DIR`); [`LaunchEnv::catalog`]
    /// adds the templates published since.
    pub offerings: Offerings,
    /// Whose signatures make a published template trusted (`CWS_TEMPLATE_PUBLISHERS`).
    pub template_publishers: Publishers,
    /// The deployment's own publisher key, which signs what its admins approve.
    pub template_signer: Option<TemplateSigner>,
    /// The project's volumes, for research users' homes on its homes volume.
    pub file_systems: Arc<dyn FileSystems>,
}

impl LaunchEnv {
    /// The configured account named `account` (`CWS_ACCOUNTS`); `None`: the project's own.
    fn account_named(&self, account: Option<&str>) -> Result<Option<&Account>, PortError> {
        account
            .map(|name| {
                self.accounts
                    .named(name)
                    .ok_or_else(|| PortError::Rejected {
                        code: "UnknownAccount".to_owned(),
                        message: format!("account {name} is no longer configured in CWS_ACCOUNTS"),
                    })
            })
            .transpose()
    }

    /// The cloud of `platform` a workspace lives in: its account's (`CWS_ACCOUNTS` name),
    /// else the project's, in its region.
    pub async fn cloud_for(
        &self,
        platform: Platform,
        account: Option<&str>,
        region: &str,
    ) -> Result<Arc<dyn Cloud>, PortError> {
        if platform == Platform::Ec2 && account.is_none() && region == self.default_region {
            return Ok(self.cloud.clone());
        }
        let account = self.account_named(account)?;
        self.account_clouds
            .cloud_in(platform, account, region)
            .await
    }

    /// Scripts on `workspace`, through SSM in its account and region.
    pub async fn commands_of(
        &self,
        workspace: &Workspace,
    ) -> Result<Arc<dyn InstanceCommands>, PortError> {
        let account = self.account_named(workspace.account.as_deref())?;
        self.account_clouds
            .commands_in(account, &workspace.region)
            .await
    }

    /// CloudWatch's metrics of instances in `account` and `region`.
    pub async fn metrics_in(
        &self,
        account: Option<&str>,
        region: &str,
    ) -> Result<Arc<dyn Metrics>, PortError> {
        let account = self.account_named(account)?;
        self.account_clouds.metrics_in(account, region).await
    }

    /// The cloud `workspace` lives in: its account and the region it was launched in.
    pub async fn cloud_of(&self, workspace: &Workspace) -> Result<Arc<dyn Cloud>, PortError> {
        self.cloud_for(
            workspace.platform,
            workspace.account.as_deref(),
            &workspace.region,
        )
        .await
    }

    /// The project account's snapshots tagged `key` = `value` in every region a workspace was
    /// launched in (snapshots stay in their instance's region), each with the cloud that holds
    /// it. Snapshots of workspaces in a collaborator's own account are theirs, not listed here.
    pub async fn snapshots_tagged_everywhere(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<(Arc<dyn Cloud>, Snapshot)>, PortError> {
        let mut regions = vec![self.default_region.clone()];
        for workspace in self.store.all().await? {
            if workspace.account.is_none() && !regions.contains(&workspace.region) {
                regions.push(workspace.region);
            }
        }
        let mut found = Vec::new();
        for region in &regions {
            let cloud = self.cloud_for(Platform::Ec2, None, region).await?;
            for snapshot in cloud.snapshots_tagged(key, value).await? {
                found.push((cloud.clone(), snapshot));
            }
        }
        Ok(found)
    }

    /// What the cloud `workspace` lives in says about it now.
    pub async fn live(&self, workspace: &Workspace) -> Result<Option<InstanceStatus>, PortError> {
        self.cloud_of(workspace)
            .await?
            .describe(&workspace.instance_id)
            .await
    }
}

impl Context for LaunchEnv {
    fn chat(&self) -> &dyn Chat {
        &*self.chat
    }
    fn state(&self) -> &State {
        &self.state
    }
    fn clock(&self) -> &dyn Clock {
        &*self.clock
    }
}

/// Whether the launch policy still has to be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Approval {
    /// A request as typed: the policy decides.
    Policy,
    /// An owner or admin approved this exact request after the policy refused it.
    Exception,
}

/// Groups the research user joins where the image has them: the seed's one-user-per-instance
/// model gives the researcher the machine.
const RESEARCH_GROUPS: [&str; 2] = ["sudo", "docker"];

const LAUNCHED: &str = "launched";
/// The launch's audit event was written (kept apart from the post, which may be retried).
const AUDITED: &str = "audited";

/// The apalis entry point for the launch queue.
pub(crate) async fn job_launch(
    job: LaunchJob,
    env: Data<Arc<LaunchEnv>>,
    dead_letters: Data<Arc<OpsChannel>>,
    id: Option<TaskId>,
) -> Result<(), AbortError> {
    let result = env
        .metrics
        .observe(
            LaunchJob::NAME,
            job.key.as_str(),
            run_launch(&env, &job, Approval::Policy),
        )
        .await;
    dead_letters
        .announced(LaunchJob::NAME, &job.key, id, result)
        .await
}

/// Runs a launch to its end: retried while AWS is briefly unavailable, explained and
/// dead-lettered when it fails for good.
pub(crate) async fn run_launch(
    env: &LaunchEnv,
    job: &LaunchJob,
    approval: Approval,
) -> Result<(), AbortError> {
    match with_retries(&job.key, &env.backoff, || launch_once(env, job, approval)).await {
        Ok(()) => {
            // A launch is what moves the commitment; the scheduled check catches anything
            // this misses, so a failed alert must not fail the launch.
            if let Err(error) = alerts::after_launch(env, job).await {
                tracing::warn!(job = %job.key, %error, "budget alert check failed; the scheduled check retries");
            }
            Ok(())
        }
        Err(gave_up) => {
            let reply = message::launch_failed(
                job.launch.name.as_str(),
                &job.requester.user_id,
                &gave_up.error,
                gave_up.attempts,
                job.key.as_str(),
            );
            if let Err(chat_error) = env.answer(&job.reply, &job.requester, &reply).await {
                tracing::error!(job = %job.key, %chat_error, "could not tell the user the launch failed");
            }
            Err(dead_letter(&job.key, gave_up))
        }
    }
}

/// The policy said no: keep the request for an exception, and explain with the button.
async fn refuse_by_policy(
    env: &LaunchEnv,
    job: &LaunchJob,
    member: &Member,
    facts: LaunchFacts,
    restrictions: Option<PolicyRestrictions>,
    violations: Vec<Violation>,
    budget: &BudgetPosition,
) -> Result<(), PortError> {
    let now = env.clock.now();
    let request = env
        .state
        .save_exception(&ExceptionRequest {
            id: RequestId::for_launch(&job.key),
            project: member.project.name.clone(),
            launch: job.clone(),
            institution: member.profile.institution.clone(),
            facts,
            restrictions,
            violations,
            created_at: now,
            expires_at: now + env.exception_ttl,
        })
        .await?;
    env.state
        .audit(
            &member.project.name,
            &AuditEvent {
                action: AuditAction::PolicyViolation,
                who: job.requester.identity(),
                institution: member.profile.institution.clone(),
                resource: job.launch.name.to_string(),
                outcome: "refused".to_owned(),
                detail: Some(format!("{} rule(s) broken", request.violations.len())),
                at: now,
            },
        )
        .await?;
    let key = env.state.token_key().await?;
    let check = LaunchCheck {
        facts: &request.facts,
        restrictions: request.restrictions.as_ref(),
        violations: &request.violations,
        budget,
        owner_institution: &member.project.institution,
    };
    let reply = message::policy_violation(
        job.launch.name.as_str(),
        &check,
        &member.project,
        &sign_button_value(&key, request.id.as_str()),
    );
    env.answer(&job.reply, &job.requester, &reply).await
}

/// Runs the launch policy and, if it allows the launch (or an owner approved it), reserves
/// what the workspace costs to the end of the month, atomically: a reservation goes in only if
/// the reservations it was checked against are still current, so two launches racing for the
/// last of the budget cannot both pass. `Some` carries the outcome of a refusal.
async fn check_and_reserve(
    env: &LaunchEnv,
    job: &LaunchJob,
    member: &Member,
    plan: &LaunchPlan,
    approval: Approval,
) -> Result<Option<Result<(), PortError>>, PortError> {
    let project = &member.project.name;
    let facts = facts_of(plan);
    let restrictions = member
        .invitation
        .as_ref()
        .and_then(|invitation| invitation.restrictions.clone());
    loop {
        let now = env.clock.now();
        let (current, reservations) = env.state.reservations(project).await?;
        let mut budget =
            budget_position(&env.state, &env.offerings.pricing, &member.project, now).await?;
        budget.committed = Money::from_micros(
            budget.committed.micros() + reservations.pending(job.key.as_str(), now).micros(),
        );
        if approval == Approval::Policy
            && let PolicyDecision::Refused(violations) =
                evaluate(&facts, restrictions.as_ref(), &budget)
        {
            let refused =
                refuse_by_policy(env, job, member, facts, restrictions, violations, &budget).await;
            return Ok(Some(refused));
        }
        let held = reservations.with(job.key.as_str(), budget.cost_to_month_end(plan.hourly), now);
        if env
            .state
            .swap_reservations(project, current.as_deref(), &held)
            .await?
        {
            return Ok(None);
        }
    }
}

/// The first-boot script for the member's research user on this template. `user` is the
/// research user as stored now: the profile's copy keeps the key it was made with, and the
/// person may have registered or rotated one since.
fn user_data(
    template: &Template,
    user: &ResearchUser,
    efs_home: Option<EfsHome<'_>>,
    service_secret: Option<&ServiceSecret>,
) -> String {
    let groups: Vec<String> = RESEARCH_GROUPS.iter().map(|g| (*g).to_owned()).collect();
    render_user_data(&UserDataInput {
        user,
        template,
        groups: &groups,
        efs_home,
        service_secret,
    })
}

/// The research user's home on the project's homes volume: `(file system id, access point id)`
/// of their own access point (their UID/GID, rooted at their `/home/USER`, made at their first
/// launch and found again by its key at every later one), with a mount target reachable from
/// `subnet_id`. `None` where the project names no homes volume.
async fn home_on_volume(
    env: &LaunchEnv,
    project: &str,
    user: &ResearchUser,
    subnet_id: &str,
) -> Result<Option<(String, String)>, PortError> {
    let Some(volume) = env.state.homes_volume(project).await? else {
        return Ok(None);
    };
    let Some(file_system) = volume.file_system else {
        return Ok(None);
    };
    if !is_username(&user.username) {
        return Ok(None);
    }
    env.file_systems
        .ensure_mount_target_in(&file_system.id, subnet_id)
        .await?;
    let identity = PosixIdentity {
        uid: user.uid,
        gid: user.gid,
    };
    let point = env
        .file_systems
        .create_access_point(
            &file_system.id,
            &home_access_point_key(project, &volume.name, &user.username),
            identity,
            AccessPointRoot {
                path: &home_directory(&user.username),
                owner: identity,
                permissions: HOME_ROOT_PERMISSIONS,
            },
            &[
                (TAG_PROJECT.to_owned(), project.to_owned()),
                (TAG_VOLUME.to_owned(), volume.name.clone()),
                (TAG_USER.to_owned(), user.username.clone()),
            ],
        )
        .await?;
    Ok(Some((file_system.id, point.id)))
}

/// One attempt. Every step is safe to repeat: a re-run after a crash or a retry finds the
/// recorded workspace, or gets the same instance back from EC2 through the client token.
async fn launch_once(
    env: &LaunchEnv,
    job: &LaunchJob,
    approval: Approval,
) -> Result<(), PortError> {
    let workspace = match env.store.by_job(&job.key).await? {
        Some(workspace) => workspace,
        None => {
            let Some(member) =
                authorize(env, job, job.launch.project.as_deref(), Permission::Launch).await?
            else {
                return Ok(());
            };
            let attribution = attribution(&member);
            let catalog = env.catalog().await?;
            let mut plan = match plan_launch(
                &job.launch,
                &job.key,
                &attribution,
                &env.default_region,
                &catalog,
                &env.offerings.pricing,
            ) {
                Ok(plan) => plan,
                Err(refusal) => {
                    let reply = message::launch_refused(job.launch.name.as_str(), &refusal);
                    return env.answer(&job.reply, &job.requester, &reply).await;
                }
            };
            // The invitation may launch in the collaborator's own account (billed there,
            // attributed here).
            let account = member
                .invitation
                .as_ref()
                .and_then(|invitation| invitation.launch_account.clone());
            if plan.platform.one_per_person() {
                let existing = env.store.all().await?;
                if let Err(refusal) =
                    one_per_person(&plan, &attribution, account.as_deref(), &existing)
                {
                    let reply = message::launch_refused(job.launch.name.as_str(), &refusal);
                    return env.answer(&job.reply, &job.requester, &reply).await;
                }
            }
            // The policy (regions included) is checked before any AWS call is made for the
            // launch; what it reserves is released if the cloud then cannot take it.
            if let Some(refused) = check_and_reserve(env, job, &member, &plan, approval).await? {
                return refused;
            }
            let placed = async {
                let cloud = env
                    .cloud_for(plan.platform, account.as_deref(), &plan.region)
                    .await?;
                let placement = cloud
                    .place(&member.project.name, plan.workspace.as_str(), &plan.image)
                    .await?;
                Ok::<_, PortError>((cloud, placement))
            }
            .await;
            let (cloud, placement) = match placed {
                Ok(placed) => placed,
                Err(error) => {
                    env.state
                        .release_reservation(&member.project.name, job.key.as_str())
                        .await?;
                    return Err(error);
                }
            };
            // A refused launch never holds its name, so the name is claimed only now.
            if let NameClaim::Taken { by } = env
                .store
                .claim_name(plan.workspace.as_str(), &job.key)
                .await?
            {
                tracing::info!(job = %job.key, holder = %by, "workspace name already taken");
                env.state
                    .release_reservation(&member.project.name, job.key.as_str())
                    .await?;
                let reply = message::name_taken(plan.workspace.as_str());
                return env.answer(&job.reply, &job.requester, &reply).await;
            }
            let user = env
                .state
                .research_user(&member.profile.collaborator)
                .await?
                .unwrap_or_else(|| member.profile.research_user.clone());
            // The homes volume is in the project's account and default region: a workspace
            // elsewhere keeps its home on its own disk.
            let home = if account.is_none() && plan.region == env.default_region {
                home_on_volume(env, &member.project.name, &user, &placement.subnet_id).await?
            } else {
                None
            };
            let efs_home = home
                .as_ref()
                .map(|(file_system_id, access_point_id)| EfsHome {
                    file_system_id,
                    access_point_id,
                });
            plan.idle = member.project.idle;
            plan.research_user = Some(PlannedUser {
                username: user.username.clone(),
                uid: user.uid,
                gid: user.gid,
            });
            plan.home = home
                .as_ref()
                .map(|(file_system_id, access_point_id)| PlannedHome {
                    file_system_id: file_system_id.clone(),
                    access_point_id: access_point_id.clone(),
                    path: home_directory(&user.username),
                });
            if let Ok(template) = catalog.find(&plan.template) {
                // A template's services ask for this launch's own password.
                let service_secret = if template.services.is_empty() {
                    None
                } else {
                    Some(env.state.service_secret_for_launch(&job.key).await?)
                };
                plan.user_data = Some(user_data(
                    template,
                    &user,
                    efs_home,
                    service_secret.as_ref(),
                ));
            }
            let instance = cloud.run_instance(&plan, &placement).await?;
            if instance.instance_id.is_empty() {
                return Err(PortError::Rejected {
                    code: "NoInstanceId".into(),
                    message: "EC2 returned an instance without an id".into(),
                });
            }
            tracing::info!(job = %job.key, instance = %instance.instance_id, "instance launched");
            let workspace = Workspace {
                account,
                image_id: placement.image_id,
                ..Workspace::launched(
                    &plan,
                    &job.key,
                    instance.instance_id,
                    attribution,
                    env.clock.now(),
                    &job.requester.user_id,
                )
            };
            env.store.record(&workspace).await?;
            env.state
                .append_ledger(
                    &workspace.ledger_event(LedgerEventKind::Launched, workspace.launched_at),
                )
                .await?;
            env.state
                .release_reservation(&member.project.name, job.key.as_str())
                .await?;
            workspace
        }
    };
    // Audited once the workspace is recorded, and once only: the mark keeps a re-run (after a
    // crash, or a failed post) from auditing it again.
    if !env.store.notice_sent(&job.key, AUDITED).await? {
        env.state
            .audit(
                &workspace.attribution.project,
                &AuditEvent {
                    action: AuditAction::Launch,
                    who: job.requester.identity(),
                    institution: workspace.attribution.institution.clone(),
                    resource: workspace.name.clone(),
                    outcome: LAUNCHED.to_owned(),
                    detail: Some(format!(
                        "{} ({}, {}, image {}) in {}, {}",
                        workspace.template,
                        workspace.instance_type,
                        workspace.instance_id,
                        workspace.image_id.as_deref().unwrap_or("unrecorded"),
                        workspace.region,
                        workspace.attribution.user
                    )),
                    at: workspace.launched_at,
                },
            )
            .await?;
        env.store.mark_notice_sent(&job.key, AUDITED).await?;
    }
    if !env.store.notice_sent(&job.key, LAUNCHED).await? {
        let project = env
            .state
            .project(&workspace.attribution.project)
            .await?
            .ok_or_else(|| PortError::Rejected {
                code: "CorruptRecord".to_owned(),
                message: format!("workspace {} names no known project", workspace.name),
            })?;
        let budget = budget_position(
            &env.state,
            &env.offerings.pricing,
            &project,
            env.clock.now(),
        )
        .await?;
        let reply = message::launch_succeeded(&workspace, &job.requester.user_id, &budget);
        env.chat.post(&job.reply, &reply).await?;
        env.store.mark_notice_sent(&job.key, LAUNCHED).await?;
    }
    Ok(())
}
