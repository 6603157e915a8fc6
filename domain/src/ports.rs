//! The small traits through which the worker and bot reach the outside world. Each has one real
//! adapter (tested against a real local server) and one embedded stand-in.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::job::{Job, JobKey, ReplyTo};
use crate::launch::LaunchPlan;
use crate::message::ChatMessage;
use crate::message::limits::TextFile;
use crate::pricing::Money;
use crate::verified_identity::{SignInState, VerificationFailure, VerifiedIdentity};
use crate::workspace::Workspace;

/// How an adapter call failed, which decides whether the job tries again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Worth retrying: throttling, timeouts, a service briefly unavailable.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// Retrying cannot help; `code` is the service's own error code, shown to the user.
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
    /// The deployment's own store (Redis) cannot be reached: nothing can progress until it
    /// is back, so a job waits for it however long that takes instead of giving up.
    #[error("the store is unavailable: {0}")]
    StoreUnavailable(String),
}

impl PortError {
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PortError::Transient(_) | PortError::StoreUnavailable(_)
        )
    }
}

/// What a verification's authorization link carries: the random `state` that brings the
/// callback back to its pending record, the nonce the ID token must repeat, and the PKCE
/// verifier whose hash goes to the provider.
pub struct AuthorizationRequest<'a> {
    pub state: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
}

/// An OpenID Connect provider (Globus Auth) that vouches for a person's institutional login.
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// The provider's authorization URL for the authorization code flow with PKCE.
    async fn authorization_url(
        &self,
        request: &AuthorizationRequest<'_>,
    ) -> Result<String, VerificationFailure>;
    /// Exchanges the callback's `code` (with the PKCE verifier), checks the ID token —
    /// signature against the provider's keys, issuer, audience, expiry, `nonce` — and reads
    /// the user info. Never retried: a code works once.
    async fn verify(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<VerifiedIdentity, VerificationFailure>;
}

/// What the bot may read of the verifications `profiles verify` started: enough to refuse a
/// `state` nobody issued before anything is stored or queued, and to show the person whom a
/// sign-in will be bound to. Read-only, one lookup per call.
#[async_trait]
pub trait SignIns: Send + Sync {
    async fn sign_in(&self, state: &str) -> Result<SignInState, PortError>;
}

/// The jobs the queues keep after they ran (done, or dead after their last attempt).
#[async_trait]
pub trait FinishedJobs: Send + Sync {
    /// Forgets the jobs that ended at or before `before`: payloads, results and idempotency
    /// keys. Returns their keys, so that markers kept per job can go too.
    async fn forget_finished(&self, before: OffsetDateTime) -> Result<Vec<JobKey>, PortError>;
}

/// Puts jobs on their queues. Enqueuing a job whose key was seen before does nothing.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, job: Job) -> Result<(), PortError>;

    /// Whether the queue answers now, so that jobs can be enqueued: the bot's readiness.
    async fn ready(&self) -> Result<(), PortError>;
}

/// An instance as the cloud reports it after a launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchedInstance {
    pub instance_id: String,
    pub state: String,
    pub private_ip: Option<String>,
}

/// An instance's lifecycle state, as EC2 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Pending,
    Running,
    Stopping,
    Stopped,
    ShuttingDown,
    Terminated,
}

/// What the cloud says about one instance now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub instance_id: String,
    pub state: InstanceState,
    pub instance_type: String,
    pub public_ip: Option<String>,
    pub private_ip: Option<String>,
    /// When it last started running.
    pub launched_at: Option<OffsetDateTime>,
    /// Its availability zone's id (`use1-az1`): the same physical zone in every account,
    /// unlike zone names.
    pub zone_id: Option<String>,
}

#[async_trait]
pub trait Cloud: Send + Sync {
    /// What a launch of `workspace` for `project` needs here, each piece checked to exist: the
    /// image `image` names in this region, a subnet, the project's security group (made and
    /// tagged once, idempotently, with no inbound rule from the internet) and the instance
    /// profile. A missing piece is refused with [`crate::network::NOT_SET_UP`] and what to set up.
    async fn place(
        &self,
        project: &str,
        workspace: &str,
        image: &crate::template::ImageSource,
    ) -> Result<crate::network::Placement, PortError>;
    /// Starts the planned instance where `placement` says; with the same client token,
    /// returns the same instance.
    async fn run_instance(
        &self,
        plan: &LaunchPlan,
        placement: &crate::network::Placement,
    ) -> Result<LaunchedInstance, PortError>;
    /// `None` when the cloud does not know the instance (or forgot a terminated one).
    async fn describe(&self, instance_id: &str) -> Result<Option<InstanceStatus>, PortError>;
    /// Every instance carrying the attribution tags, in as few calls as the cloud allows:
    /// what the reconcile job compares the records with.
    async fn describe_tagged(&self) -> Result<Vec<InstanceStatus>, PortError>;
    /// Stops the instance, hibernating it when asked. An instance launched without
    /// hibernation support is refused with the cloud's own code
    /// (`UnsupportedHibernationConfiguration` on EC2), so the caller can fall back to a stop.
    async fn stop(&self, instance_id: &str, hibernate: bool) -> Result<(), PortError>;
    /// Starts a stopped instance. `tags` are the workspace's launch tags
    /// ([`crate::workspace::Workspace::tags`]), for a platform that makes something new to
    /// start (a SageMaker app): it must carry them, or Cost Explorer could not attribute its
    /// hours. An EC2 instance keeps its own.
    async fn start(&self, instance_id: &str, tags: &[(String, String)]) -> Result<(), PortError>;
    async fn terminate(&self, instance_id: &str) -> Result<(), PortError>;
    /// Snapshots every volume attached to the instance, once per `key`: a repeated call with
    /// the same key (a job run again after a crash) returns the snapshots the first call made,
    /// found by their `cws:snapshot-key` tag, and makes only the missing ones. `tags` go on
    /// each snapshot. A platform whose workspaces have no volumes of their own (SageMaker's)
    /// takes none: what they hold stays while they exist, and the expiry workflow only ever
    /// stops them.
    async fn snapshot_volumes(
        &self,
        instance_id: &str,
        key: &str,
        tags: &[(String, String)],
    ) -> Result<Vec<Snapshot>, PortError> {
        let _ = (instance_id, key, tags);
        Ok(Vec::new())
    }
    /// The snapshots carrying the tag `key=value`.
    async fn snapshots_tagged(&self, key: &str, value: &str) -> Result<Vec<Snapshot>, PortError> {
        let _ = (key, value);
        Ok(Vec::new())
    }
    /// Lets `account_id` create volumes from the snapshot (and so copy it into its account).
    async fn share_snapshot(&self, snapshot_id: &str, account_id: &str) -> Result<(), PortError> {
        let _ = account_id;
        Err(no_snapshots(snapshot_id))
    }
    /// Deleting a snapshot that is already gone succeeds.
    async fn delete_snapshot(&self, snapshot_id: &str) -> Result<(), PortError> {
        let _ = snapshot_id;
        Ok(())
    }
    /// Moves a completed snapshot to the archive tier (EC2 `ModifySnapshotTier`: the data
    /// kept at a quarter of the standard price, restored in 24 to 72 hours). A snapshot that
    /// does not exist is refused.
    async fn archive_snapshot(&self, snapshot_id: &str) -> Result<(), PortError> {
        Err(no_snapshots(snapshot_id))
    }
    /// Hands a platform that stops idle workspaces itself (SageMaker Studio's idle shutdown)
    /// the project's idle policy (`None`: off); cws's own check (CloudWatch activity, warning,
    /// grace period) covers the others, so by default nothing is to be done.
    async fn apply_idle_policy(
        &self,
        instance_id: &str,
        policy: Option<&crate::idle::IdlePolicy>,
    ) -> Result<(), PortError> {
        let _ = (instance_id, policy);
        Ok(())
    }
    /// A link that signs the workspace's owner in to it in the browser, for platforms with a
    /// sign-in of their own (SageMaker Studio): it is a credential, valid for minutes, so it
    /// goes to its owner by direct message only. `None`: the workspace is reached through
    /// Session Manager (SSH and port forwards).
    async fn sign_in_link(&self, instance_id: &str) -> Result<Option<String>, PortError> {
        let _ = instance_id;
        Ok(None)
    }
}

/// A platform without snapshots was asked for one.
fn no_snapshots(snapshot_id: &str) -> PortError {
    PortError::Rejected {
        code: "NotSupported".to_owned(),
        message: format!("{snapshot_id}: this platform's workspaces have no snapshots"),
    }
}

/// The cloud per account and region: the project's own account (`None`) or a collaborator's
/// whose invitation says so, in the region a workspace was launched in.
#[async_trait]
pub trait AccountClouds: Send + Sync {
    /// The cloud of `platform` acting in `account` (through its role), in `region`.
    async fn cloud_in(
        &self,
        platform: crate::template::Platform,
        account: Option<&crate::account::Account>,
        region: &str,
    ) -> Result<std::sync::Arc<dyn Cloud>, PortError>;
    /// Scripts on instances in `account` and `region` (SSM Run Command acts where the
    /// instance is registered).
    async fn commands_in(
        &self,
        account: Option<&crate::account::Account>,
        region: &str,
    ) -> Result<std::sync::Arc<dyn InstanceCommands>, PortError>;
    /// The activity of instances in `account` and `region` (EC2 publishes its metrics there).
    async fn metrics_in(
        &self,
        account: Option<&crate::account::Account>,
        region: &str,
    ) -> Result<std::sync::Arc<dyn Metrics>, PortError>;
}

/// An EFS file system the system made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSystem {
    pub id: String,
    pub arn: String,
}

/// An EFS access point: the one door through which a grant may mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPoint {
    pub id: String,
    pub arn: String,
}

/// One mount target of a file system: its address in one availability zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountTarget {
    pub ip_address: String,
    pub zone_id: Option<String>,
}

/// The POSIX identity an access point forces on every file operation through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosixIdentity {
    pub uid: u32,
    pub gid: u32,
}

/// The directory an access point is rooted at, and how EFS makes it at the first mount if it
/// is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessPointRoot<'a> {
    pub path: &'a str,
    pub owner: PosixIdentity,
    /// Octal mode, e.g. `2775`.
    pub permissions: &'a str,
}

/// Shared file systems (EFS) in the lead account.
#[async_trait]
pub trait FileSystems: Send + Sync {
    /// The encrypted file system for `creation_token`, made once: a repeated call (a job run
    /// again after a crash) returns the one the first call made.
    async fn create_file_system(
        &self,
        creation_token: &str,
        tags: &[(String, String)],
    ) -> Result<FileSystem, PortError>;
    /// A mount target in every subnet of the default VPC; existing ones are kept. Returns how
    /// many subnets have one.
    async fn ensure_mount_targets(&self, file_system_id: &str) -> Result<usize, PortError>;
    /// A mount target in `subnet_id`, or already one in its availability zone (EFS allows one
    /// per zone), so an instance in that subnet reaches the file system.
    async fn ensure_mount_target_in(
        &self,
        file_system_id: &str,
        subnet_id: &str,
    ) -> Result<(), PortError>;
    /// The access point for `key`, made once, rooted at `root` and forcing `user` on every
    /// operation.
    async fn create_access_point(
        &self,
        file_system_id: &str,
        key: &str,
        user: PosixIdentity,
        root: AccessPointRoot<'_>,
        tags: &[(String, String)],
    ) -> Result<AccessPoint, PortError>;
    /// The file system's mount targets: where an instance in another account (whose DNS cannot
    /// resolve the file system's name) connects.
    async fn mount_targets(&self, file_system_id: &str) -> Result<Vec<MountTarget>, PortError>;
    /// Replaces the file system's resource policy.
    async fn put_policy(&self, file_system_id: &str, policy: &str) -> Result<(), PortError>;
}

/// How a script run on an instance ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptOutcome {
    Succeeded,
    /// `status` is the service's own (`Failed`, `TimedOut`, `Undeliverable`…); `output` the
    /// end of what the script printed to stderr, else stdout.
    Failed {
        status: String,
        output: String,
    },
}

/// A script run as root on an instance, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRun {
    /// The service's id for the run, for an operator who wants its full output.
    pub command_id: String,
    pub outcome: ScriptOutcome,
}

/// Scripts run as root on running instances (SSM Run Command on AWS): how volumes are mounted
/// without a restart.
#[async_trait]
pub trait InstanceCommands: Send + Sync {
    /// Runs `script` on the instance and waits until it ends (the script's own timeout
    /// included). `comment` tells an operator looking at the service why it ran.
    async fn run_script(
        &self,
        instance_id: &str,
        comment: &str,
        script: &str,
    ) -> Result<ScriptRun, PortError>;
}

/// IAM in the consortium's other accounts, through STS AssumeRole.
#[async_trait]
pub trait AccountPolicies: Send + Sync {
    /// Creates the customer-managed policy `name` in `account` (or finds the one made before)
    /// and returns its ARN; `None` when the worker has no role in that account, and the
    /// document must go to the account's IT instead.
    async fn create_policy(
        &self,
        account: &crate::account::Account,
        name: &str,
        document: &str,
    ) -> Result<Option<String>, PortError>;
}

/// An EBS snapshot made by the system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub snapshot_id: String,
    pub volume_id: String,
    pub size_gb: u32,
    pub tags: std::collections::BTreeMap<String, String>,
}

#[async_trait]
pub trait Chat: Send + Sync {
    /// A message everyone in the channel sees.
    async fn post(&self, to: &ReplyTo, message: &ChatMessage) -> Result<(), PortError>;
    /// A message only `user_id` sees.
    async fn post_ephemeral(
        &self,
        to: &ReplyTo,
        user_id: &str,
        message: &ChatMessage,
    ) -> Result<(), PortError>;
    /// A direct message to `user_id` (Slack: `conversations.open`, then `chat.postMessage`).
    async fn post_direct(&self, user_id: &str, message: &ChatMessage) -> Result<(), PortError>;
    /// A file sent to `user_id` alone, in their direct messages (Slack: the external upload
    /// into the DM channel; Discord: an attachment to a DM).
    async fn send_direct_file(&self, user_id: &str, file: &TextFile) -> Result<(), PortError>;
    /// The newest file called `name` shared in the channel, if there is one (Slack:
    /// `files.list`, then the file's private download URL).
    async fn shared_file(
        &self,
        channel_id: &str,
        name: &str,
    ) -> Result<Option<SharedFile>, PortError>;
    /// The e-mail address on `user_id`'s chat profile, if it shows one (Slack: `users.info`,
    /// scope `users:read.email`).
    async fn email_of(&self, user_id: &str) -> Result<Option<String>, PortError>;
    /// Whether `user_id` is in the Slack user group `group_id` (`usergroups.users.list`, scope
    /// `usergroups:read`); always `false` on Discord, which has no such groups.
    async fn in_user_group(&self, group_id: &str, user_id: &str) -> Result<bool, PortError>;
}

/// How busy an instance was over a window: the busiest 5 minutes of each measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activity {
    /// Highest CPU utilisation, percent.
    pub peak_cpu: f64,
    /// Most bytes in plus out in one 5-minute period; `None` when the service has none.
    pub peak_network_bytes: Option<f64>,
}

/// Instance metrics (CloudWatch).
#[async_trait]
pub trait Metrics: Send + Sync {
    /// Each instance's activity over `[from, to)`; an instance without CPU data is absent.
    /// As few calls as the service allows.
    async fn activity(
        &self,
        instance_ids: &[String],
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<std::collections::HashMap<String, Activity>, PortError>;
}

/// One plain-text e-mail to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), PortError>;
}

/// Durable files for people outside chat: chargeback statements, archives (S3).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores `body` under `key`, replacing what was there, and returns a link that lets
    /// whoever holds it download the object for `valid_for` (S3: a presigned GET).
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        valid_for: std::time::Duration,
    ) -> Result<String, PortError>;
    /// The object's content, if it exists.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PortError>;
    /// A link that lets whoever holds it store the object `key` for `valid_for` (S3: a
    /// presigned PUT): how a workstation uploads without credentials of its own.
    async fn upload_link(
        &self,
        key: &str,
        valid_for: std::time::Duration,
    ) -> Result<String, PortError>;
    /// The object's size in bytes and a link that downloads it for `valid_for`, if it exists
    /// (S3: HeadObject, then a presigned GET).
    async fn download_link(
        &self,
        key: &str,
        valid_for: std::time::Duration,
    ) -> Result<Option<(u64, String)>, PortError>;
}

/// What the cloud provider's billing says one user at one institution cost (AWS Cost Explorer,
/// grouped by the `cws:user` and `cws:institution` tags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledCost {
    pub user: String,
    pub institution: String,
    pub cost: Money,
}

#[async_trait]
pub trait Billing: Send + Sync {
    /// The cost of the project's tagged resources over `[from, to)` (whole UTC days), per user
    /// and institution; empty when the provider has no data for the period.
    async fn cost_by_user(
        &self,
        project: &str,
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<BilledCost>, PortError>;
}

/// A file someone shared in chat, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedFile {
    Text(String),
    /// Larger than the limit the caller asked about is not read at all.
    TooLarge {
        bytes: u64,
    },
    NotText,
    /// Listed with an address outside the platform's file host (`SLACK_FILES_URL`,
    /// `DISCORD_CDN_URL`), so it was not downloaded.
    ForeignHost {
        host: String,
    },
}

/// Files larger than this are not read: a collaborators CSV is a few kilobytes.
pub const SHARED_FILE_LIMIT: u64 = 1024 * 1024;

/// One entry of an append-only log, with the id the log gave it (ids grow with each append).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub id: String,
    pub entry: String,
}

/// The system's state: JSON records under explicit `cws:` keys, with the few atomic operations
/// handlers build on. Every read-modify-write is a `swap` loop, so any number of workers may
/// race on a record and none of their changes is lost.
#[async_trait]
pub trait Records: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<String>, PortError>;
    /// Values of `keys`, in order; `None` where a key is absent.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, PortError>;
    async fn put(&self, key: &str, value: &str) -> Result<(), PortError>;
    /// Writes `value` only if the key holds exactly `expected` now (`None`: the key is absent),
    /// and says whether it wrote.
    async fn swap(&self, key: &str, expected: Option<&str>, value: &str)
    -> Result<bool, PortError>;
    async fn delete(&self, key: &str) -> Result<(), PortError>;
    /// Writes `value` under `key` for `ttl`, after which the key is gone.
    async fn put_expiring(
        &self,
        key: &str,
        value: &str,
        ttl: std::time::Duration,
    ) -> Result<(), PortError>;
    /// Writes `value` under `key` for `ttl` only if the key is absent (SET NX EX); says
    /// whether it wrote.
    async fn create_expiring(
        &self,
        key: &str,
        value: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, PortError>;
    /// Reads and removes `key` in one step (GETDEL): of callers racing, one gets the value.
    async fn take(&self, key: &str) -> Result<Option<String>, PortError>;
    /// Adds one to a counter (an absent counter is 0) and returns the new value.
    async fn increment(&self, key: &str) -> Result<u64, PortError>;
    async fn add_member(&self, set: &str, member: &str) -> Result<(), PortError>;
    async fn remove_member(&self, set: &str, member: &str) -> Result<(), PortError>;
    /// The members of a set, sorted.
    async fn members(&self, set: &str) -> Result<Vec<String>, PortError>;
    /// Appends an entry to an append-only log (a Redis stream).
    async fn append(&self, log: &str, entry: &str) -> Result<(), PortError>;
    /// Appends `entry` as number `number` (from 1) of a numbered log, unless the log already
    /// holds that number or a higher one; says whether it appended. Of writers racing for one
    /// number, exactly one wins.
    async fn append_numbered(&self, log: &str, number: u64, entry: &str)
    -> Result<bool, PortError>;
    /// Puts `member` in a schedule (a Redis sorted set) at `at` (unix seconds), or moves it.
    async fn schedule(&self, set: &str, member: &str, at: i64) -> Result<(), PortError>;
    async fn unschedule(&self, set: &str, member: &str) -> Result<(), PortError>;
    /// The members scheduled at or before `until`, earliest first.
    async fn due(&self, set: &str, until: i64) -> Result<Vec<String>, PortError>;
    /// The newest entry of a log.
    async fn last_entry(&self, log: &str) -> Result<Option<LogEntry>, PortError>;
    /// The entries of a log after the one with id `after` (all of them for `None`), oldest
    /// first, each with its id: a reader keeps what it has and fetches only what is new.
    async fn entries_after(
        &self,
        log: &str,
        after: Option<&str>,
    ) -> Result<Vec<LogEntry>, PortError>;
}

/// Whether a workspace name was free for this job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameClaim {
    /// The name is now (or already was) held by this job.
    Claimed,
    /// Another job holds it.
    Taken { by: JobKey },
}

#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// Reserves a workspace name for a job, atomically across every worker.
    async fn claim_name(&self, name: &str, key: &JobKey) -> Result<NameClaim, PortError>;
    /// Records a launched workspace under its job key, its name and its instance id.
    async fn record(&self, workspace: &Workspace) -> Result<(), PortError>;
    async fn by_job(&self, key: &JobKey) -> Result<Option<Workspace>, PortError>;
    async fn by_name(&self, name: &str) -> Result<Option<Workspace>, PortError>;
    /// Every recorded workspace, terminated ones included, by name.
    async fn all(&self) -> Result<Vec<Workspace>, PortError>;
    /// Whether a job's notice (e.g. "launched") was already posted. Checked before posting and
    /// marked after, so a crash in between repeats the message rather than losing it.
    async fn notice_sent(&self, key: &JobKey, notice: &str) -> Result<bool, PortError>;
    async fn mark_notice_sent(&self, key: &JobKey, notice: &str) -> Result<(), PortError>;
    /// Forgets the notices of a job the queue forgot: it cannot run again.
    async fn forget_notices(&self, key: &JobKey) -> Result<(), PortError>;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}
