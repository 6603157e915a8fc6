//! Configuration: the environment variables of DESIGN.md, or the same keys in lower case in an
//! optional `cws.toml`. An absent setting selects the embedded stand-in for that component.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::account::{Accounts, AccountsError};
use crate::deployment::{DeploymentRoles, InvalidRoles};
use crate::digest::DigestTime;
use crate::identity::ChatIdentity;
use crate::network::{Cidr, NetworkSettings, SubnetId, parse_list};
use crate::retry::Backoff;
use crate::template::Offerings;
use crate::template_trust::{InvalidTrust, Publishers, TemplateSigner};
use crate::url_prefix::UrlPrefix;

/// Used only when no signing secret is configured, so the embedded mode can sign its own
/// requests; the bot then listens on loopback only.
pub const EMBEDDED_SLACK_SECRET: &str = "cws-embedded-mode-local-secret";

/// The Slack team and user the terminal prompt and `cws say` sign as in the embedded mode.
pub const EMBEDDED_TEAM_ID: &str = "T-LOCAL";
pub const EMBEDDED_USER_ID: &str = "U-TERMINAL";
/// The lead institution of the embedded mode's projects.
pub const EMBEDDED_INSTITUTION: &str = "local";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackSettings {
    pub signing_secret: String,
    pub bot_token: Option<String>,
    pub api_url: String,
    /// Where a slash command's `response_url` may point (`SLACK_HOOKS_URL`); workers answer
    /// any other through `chat.postEphemeral` instead.
    pub hooks_url: UrlPrefix,
    /// Where a shared file may be downloaded from with the bot token (`SLACK_FILES_URL`).
    pub files_url: UrlPrefix,
}

/// Slack's hosts for slash command responses and private files.
pub const SLACK_HOOKS_URL: &str = "https://hooks.slack.com/";
pub const SLACK_FILES_URL: &str = "https://files.slack.com/";

/// The Discord application. Present when `DISCORD_PUBLIC_KEY` is set: the bot then serves
/// `POST /discord/interactions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordSettings {
    /// The application's Ed25519 public key, 64 hex digits: verifies interactions.
    pub public_key: String,
    /// Posts follow-ups, channel messages and DMs (workers); registers commands.
    pub bot_token: Option<String>,
    pub application_id: Option<u64>,
    /// The REST base, ending in `/api/v10` (tests point it at a local fake).
    pub api_url: String,
    /// Where attachments may be downloaded from (`DISCORD_CDN_URL`).
    pub cdn_url: UrlPrefix,
}

/// Discord's CDN, where attachments live.
pub const DISCORD_CDN_URL: &str = "https://cdn.discordapp.com/";

/// Discord's REST base; serenity builds every route on it.
pub const DISCORD_API_URL: &str = "https://discord.com/api/v10";

impl DiscordSettings {
    /// Where serenity should send REST calls instead of `https://discord.com`: the configured
    /// base without its `/api/v10`, or `None` for Discord itself.
    pub fn proxy(&self) -> Option<&str> {
        (self.api_url != DISCORD_API_URL).then(|| {
            self.api_url
                .strip_suffix("/api/v10")
                .expect("checked when the settings were loaded")
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: String,
    pub endpoint_url: Option<String>,
    /// The instance profile, subnets and SSH ranges of every launch.
    pub network: NetworkSettings,
    /// Sent with every AssumeRole into a collaborator's account (`CWS_ROLE_EXTERNAL_ID`), as the
    /// role's trust policy in the shipped collaborator stack requires.
    pub external_id: Option<String>,
}

/// Globus Auth's issuer: its discovery document is under `/.well-known/openid-configuration`.
pub const GLOBUS_ISSUER_URL: &str = "https://auth.globus.org";

/// The OpenID Connect client that verifies research identities (`profiles verify`).
#[derive(Clone, PartialEq, Eq)]
pub struct GlobusSettings {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The secret stays out of logs and panics.
impl std::fmt::Debug for GlobusSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobusSettings")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub heartbeat: Duration,
    pub missed_heartbeats: usize,
    /// How transient failures are retried.
    pub backoff: Backoff,
}

/// How the processes log (`CWS_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Lines for a person at a terminal.
    #[default]
    Text,
    /// One JSON object a line, for a log shipper.
    Json,
}

impl FromStr for LogFormat {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub redis_url: Option<String>,
    pub slack: Option<SlackSettings>,
    pub discord: Option<DiscordSettings>,
    pub aws: Option<AwsSettings>,
    pub smtp_url: Option<String>,
    pub mail_from: Option<String>,
    pub listen: SocketAddr,
    /// Where a worker serves `/healthz`, `/readyz` and `/metrics` (`CWS_WORKER_LISTEN`);
    /// `None`: it serves nothing.
    pub worker_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub public_url: String,
    /// `None` unless both `GLOBUS_CLIENT_ID` and `GLOBUS_CLIENT_SECRET` are set: then
    /// `profiles verify` says verification is not configured.
    pub globus: Option<GlobusSettings>,
    pub worker: WorkerSettings,
    /// The region launches use when the command names none.
    pub default_region: String,
    /// Signs invitation tokens and button values; absent, one is generated and kept in the store.
    pub token_key: Option<String>,
    /// How long an exception request waits for a decision.
    pub exception_ttl: Duration,
    /// The AWS account a project runs in when `project create` names none.
    pub default_account: String,
    /// Added to the real time, for demos and acceptance runs (`CWS_CLOCK_OFFSET=+510d`).
    pub clock_offset: Duration,
    /// How often workers compare recorded workspaces with the cloud (one worker per round).
    pub reconcile_every: Duration,
    /// The S3 bucket for chargeback statements and archives (`CWS_ARCHIVE_BUCKET`); `None`:
    /// `cws-archive-{account id}-{region}`, a name no other account can hold first.
    pub archive_bucket: Option<String>,
    /// When each project's weekly digest goes out, in the project's time zone.
    pub digest_at: DigestTime,
    /// The cron expression (seconds first) of the scheduler's tick: budget checks, digests
    /// and month-end statements each look at every tick whether they are due. `None`
    /// (`CWS_SCHEDULE=off`): this worker runs no schedule, others do.
    pub schedule: Option<String>,
    /// The consortium's AWS accounts by name (`CWS_ACCOUNTS`), for snapshot transfers.
    pub accounts: Accounts,
    /// Who runs the deployment (`CWS_ADMINS`) and who may ask for projects
    /// (`CWS_PROJECT_REQUESTERS`).
    pub deployment: DeploymentRoles,
    /// The institution projects are led by when `project create` names none
    /// (`CWS_INSTITUTION`): the one that runs the deployment.
    pub institution: Option<String>,
    /// Requests per minute one client address may make to the bot's unsigned routes (the
    /// sign-in pages and the identity provider's callback).
    pub web_rate_limit: u32,
    /// How many reverse proxies in front of the bot append to `X-Forwarded-For`; 0: none is
    /// trusted, the TCP peer is the client.
    pub trusted_proxies: usize,
    /// How long finished jobs (payloads, idempotency keys, "finished" and notice markers) and
    /// dead letters are kept, by the workers' clock.
    pub job_retention: Duration,
    /// The channel workers tell when they dead-letter a job (`CWS_OPS_CHANNEL`), a Slack or
    /// Discord channel id; `None`: only the log and `cws_worker_dead_letters` tell.
    pub ops_channel: Option<String>,
    /// The directory of templates and prices (`CWS_TEMPLATES_DIR`); `None`: the shipped ones.
    pub templates_dir: Option<String>,
    /// What this deployment offers: the shipped templates and prices as loaded here, replaced
    /// by the directory's when `ops::load_settings` reads `templates_dir` (domain reads no files).
    pub offerings: Offerings,
    /// Whose signatures make a template trusted (`CWS_TEMPLATE_PUBLISHERS`): every file of
    /// `templates_dir`, and every template the deployment publishes, is checked against them.
    pub template_publishers: Publishers,
    /// The deployment's own publisher key (`CWS_TEMPLATE_SIGNING_KEY`), with which workers sign
    /// the proposals an admin approves; `None`: `templates propose` is not offered. Its public
    /// half must be among `template_publishers`.
    pub template_signer: Option<TemplateSigner>,
}

/// Every minute: a budget alert or enforcement is never more than a minute late.
pub const DEFAULT_SCHEDULE: &str = "0 * * * * *";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{key}={value}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("cws.toml: {0}")]
    File(String),
    #[error("CWS_ACCOUNTS: {0}")]
    Accounts(#[from] AccountsError),
    #[error(transparent)]
    Roles(#[from] InvalidRoles),
    #[error("{key}: {error}")]
    Trust {
        key: &'static str,
        error: InvalidTrust,
    },
}

/// Shortest `CWS_TOKEN_KEY` accepted: HMAC-SHA256 keys shorter than its output weaken it.
const MIN_TOKEN_KEY_BYTES: usize = 32;

/// `CWS_TOKEN_KEY`, refused at start when too short (the value itself is never printed).
fn token_key(sources: &Sources) -> Result<Option<String>, SettingsError> {
    match sources.get("CWS_TOKEN_KEY") {
        Some(key) if key.len() < MIN_TOKEN_KEY_BYTES => Err(SettingsError::Invalid {
            key: "CWS_TOKEN_KEY",
            value: format!("<{} bytes, not shown>", key.len()),
            reason: "expected at least 32 bytes of secret, e.g. the output of `openssl rand -hex 32`",
        }),
        key => Ok(key),
    }
}

/// Reads keys from the environment first, then from `cws.toml`.
pub struct Sources<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: BTreeMap<String, String>,
}

impl<'a> Sources<'a> {
    pub fn new(
        env: &'a dyn Fn(&str) -> Option<String>,
        file_text: Option<&str>,
    ) -> Result<Self, SettingsError> {
        let mut file = BTreeMap::new();
        if let Some(text) = file_text {
            let table: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| SettingsError::File(e.message().to_owned()))?;
            for (key, value) in table {
                let value = match value {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                file.insert(key.to_ascii_lowercase(), value);
            }
        }
        Ok(Sources { env, file })
    }

    fn get(&self, key: &str) -> Option<String> {
        (self.env)(key)
            .or_else(|| self.file.get(&key.to_ascii_lowercase()).cloned())
            .filter(|v| !v.trim().is_empty())
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        key: &'static str,
        default: T,
        reason: &'static str,
    ) -> Result<T, SettingsError> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => {
                value
                    .trim()
                    .parse()
                    .map_err(|_| SettingsError::Invalid { key, value, reason })
            }
        }
    }
}

impl Settings {
    pub fn load(sources: &Sources<'_>) -> Result<Settings, SettingsError> {
        let trust = |key: &'static str| move |error| SettingsError::Trust { key, error };
        let template_publishers: Publishers = sources
            .get("CWS_TEMPLATE_PUBLISHERS")
            .map(|value| value.parse())
            .transpose()
            .map_err(trust("CWS_TEMPLATE_PUBLISHERS"))?
            .unwrap_or_default();
        let template_signer: Option<TemplateSigner> = sources
            .get("CWS_TEMPLATE_SIGNING_KEY")
            .map(|value| value.parse())
            .transpose()
            .map_err(trust("CWS_TEMPLATE_SIGNING_KEY"))?;
        if let Some(signer) = &template_signer {
            signer
                .check_trusted(&template_publishers)
                .map_err(trust("CWS_TEMPLATE_SIGNING_KEY"))?;
        }
        let slack = match sources.get("SLACK_SIGNING_SECRET") {
            None => None,
            Some(signing_secret) => Some(SlackSettings {
                signing_secret,
                bot_token: sources.get("SLACK_BOT_TOKEN"),
                api_url: slack_api_url(sources.get("SLACK_API_URL"))?,
                hooks_url: url_prefix(sources, "SLACK_HOOKS_URL", SLACK_HOOKS_URL)?,
                files_url: url_prefix(sources, "SLACK_FILES_URL", SLACK_FILES_URL)?,
            }),
        };
        let discord = match sources.get("DISCORD_PUBLIC_KEY") {
            None => None,
            Some(public_key) => Some(discord_settings(sources, public_key)?),
        };
        let region = sources
            .get("AWS_REGION")
            .or_else(|| sources.get("AWS_DEFAULT_REGION"));
        if let Some(shared) = sources.get("CWS_INSTANCE_PROFILE") {
            return Err(SettingsError::Invalid {
                key: "CWS_INSTANCE_PROFILE",
                value: shared,
                reason: "one instance profile for every project let any workspace mount any \
                         project's volumes; it is replaced by CWS_WORKSTATION_POLICY (the deploy/ \
                         stacks' WorkstationPolicyName output), under which each project's \
                         workspaces get their own profile. Unset it and set that",
            });
        }
        let network = NetworkSettings {
            workstation_policy: sources
                .get("CWS_WORKSTATION_POLICY")
                .map(|v| v.trim().to_owned()),
            canvas_policy: sources
                .get("CWS_CANVAS_POLICY")
                .map(|v| v.trim().to_owned()),
            subnets: listed::<SubnetId>(
                sources,
                "CWS_SUBNETS",
                "expected subnet ids separated by commas, e.g. subnet-0123456789abcdef0",
            )?,
            ssh_cidrs: listed::<Cidr>(
                sources,
                "CWS_SSH_CIDRS",
                "expected your sites' address ranges separated by commas, e.g. 171.64.0.0/14 \
                 (never 0.0.0.0/0: everyone else connects through Session Manager)",
            )?,
        };
        let aws = region.clone().map(|region| AwsSettings {
            region,
            endpoint_url: sources.get("AWS_ENDPOINT_URL"),
            network,
            external_id: sources.get("CWS_ROLE_EXTERNAL_ID"),
        });
        let listen = sources.parsed(
            "CWS_LISTEN",
            SocketAddr::from(([127, 0, 0, 1], 3000)),
            "expected host:port, e.g. 0.0.0.0:3000",
        )?;
        let worker_listen = match sources.get("CWS_WORKER_LISTEN") {
            None => None,
            Some(value) => Some(value.trim().parse().map_err(|_| SettingsError::Invalid {
                key: "CWS_WORKER_LISTEN",
                value,
                reason: "expected host:port, e.g. 127.0.0.1:9090",
            })?),
        };
        let log_format = sources.parsed(
            "CWS_LOG_FORMAT",
            LogFormat::Text,
            "expected `text` or `json`, e.g. json",
        )?;
        let concurrency = sources.parsed(
            "CWS_WORKER_CONCURRENCY",
            8usize,
            "expected a whole number of jobs",
        )?;
        if concurrency == 0 {
            return Err(SettingsError::Invalid {
                key: "CWS_WORKER_CONCURRENCY",
                value: "0".into(),
                reason: "at least one job must run at a time",
            });
        }
        let heartbeat_secs =
            sources.parsed("CWS_WORKER_HEARTBEAT_SECS", 5u64, "expected whole seconds")?;
        let missed_heartbeats = sources.parsed(
            "CWS_WORKER_MISSED_HEARTBEATS",
            3usize,
            "expected a whole number",
        )?;
        let default_backoff = Backoff::default();
        let first_delay_ms = sources.parsed(
            "CWS_RETRY_FIRST_DELAY_MS",
            default_backoff.first_delay.as_millis() as u64,
            "expected whole milliseconds",
        )?;
        let exception_ttl_hours =
            sources.parsed("CWS_EXCEPTION_TTL_HOURS", 72u64, "expected whole hours")?;
        let reconcile_secs =
            sources.parsed("CWS_RECONCILE_SECS", 300u64, "expected whole seconds")?;
        let web_rate_limit = sources.parsed(
            "CWS_WEB_RATE_LIMIT",
            30u32,
            "expected a whole number of requests per minute",
        )?;
        let trusted_proxies = sources.parsed(
            "CWS_TRUSTED_PROXIES",
            0usize,
            "expected how many proxies in front of the bot append to X-Forwarded-For, e.g. 1",
        )?;
        let retention_days = sources.parsed(
            "CWS_JOB_RETENTION_DAYS",
            7u64,
            "expected whole days, at least 1",
        )?;
        if retention_days == 0 {
            return Err(SettingsError::Invalid {
                key: "CWS_JOB_RETENTION_DAYS",
                value: "0".into(),
                reason: "a finished job is kept at least a day, longer than any platform retries a request",
            });
        }
        let clock_offset = match sources.get("CWS_CLOCK_OFFSET") {
            None => Duration::ZERO,
            Some(value) => clock_offset(&value).ok_or(SettingsError::Invalid {
                key: "CWS_CLOCK_OFFSET",
                value,
                reason: "expected a forward shift such as +510d, +12h or +30m",
            })?,
        };
        let digest_at = match sources.get("CWS_DIGEST_AT") {
            None => DigestTime::default(),
            Some(value) => value.parse().map_err(|_| SettingsError::Invalid {
                key: "CWS_DIGEST_AT",
                value,
                reason: "expected a weekday and a 24-hour time, e.g. `monday 09:00`",
            })?,
        };
        let schedule = match sources.get("CWS_SCHEDULE") {
            Some(off) if off == "off" => None,
            Some(expression) if cron::Schedule::from_str(&expression).is_err() => {
                return Err(SettingsError::Invalid {
                    key: "CWS_SCHEDULE",
                    value: expression,
                    reason: "expected `off` or a cron expression with seconds first, e.g. `0 * * * * *`",
                });
            }
            Some(expression) => Some(expression),
            None => Some(DEFAULT_SCHEDULE.to_owned()),
        };
        let mut deployment = DeploymentRoles::parse(
            &sources.get("CWS_ADMINS").unwrap_or_default(),
            &sources.get("CWS_PROJECT_REQUESTERS").unwrap_or_default(),
        )?;
        // With no chat platform configured, only this machine can sign requests (the bot then
        // listens on loopback): its terminal user runs the deployment.
        let embedded_chat = slack.is_none() && discord.is_none();
        if embedded_chat && deployment.admins().is_empty() {
            deployment = DeploymentRoles::single_admin(ChatIdentity::slack(
                EMBEDDED_TEAM_ID,
                EMBEDDED_USER_ID,
            ));
        }
        Ok(Settings {
            redis_url: sources.get("REDIS_URL"),
            slack,
            discord,
            aws,
            smtp_url: sources.get("SMTP_URL"),
            mail_from: sources.get("MAIL_FROM"),
            listen,
            worker_listen,
            log_format,
            public_url: sources
                .get("CWS_PUBLIC_URL")
                .unwrap_or_else(|| format!("http://{listen}")),
            globus: match (
                sources.get("GLOBUS_CLIENT_ID"),
                sources.get("GLOBUS_CLIENT_SECRET"),
            ) {
                (Some(client_id), Some(client_secret)) => Some(GlobusSettings {
                    issuer_url: sources
                        .get("GLOBUS_ISSUER_URL")
                        .unwrap_or_else(|| GLOBUS_ISSUER_URL.to_owned()),
                    client_id,
                    client_secret,
                }),
                _ => None,
            },
            worker: WorkerSettings {
                concurrency,
                heartbeat: Duration::from_secs(heartbeat_secs.max(1)),
                missed_heartbeats: missed_heartbeats.max(1),
                backoff: Backoff {
                    first_delay: Duration::from_millis(first_delay_ms),
                    ..default_backoff
                },
            },
            default_region: region.unwrap_or_else(|| "us-east-1".to_owned()),
            token_key: token_key(sources)?,
            exception_ttl: Duration::from_secs(exception_ttl_hours.max(1) * 3600),
            default_account: sources
                .get("CWS_AWS_ACCOUNT")
                .unwrap_or_else(|| "lead".to_owned()),
            clock_offset,
            reconcile_every: Duration::from_secs(reconcile_secs.max(1)),
            archive_bucket: sources.get("CWS_ARCHIVE_BUCKET"),
            digest_at,
            schedule,
            accounts: match sources.get("CWS_ACCOUNTS") {
                Some(text) => text.parse()?,
                None => Accounts::default(),
            },
            deployment,
            institution: match sources.get("CWS_INSTITUTION") {
                None if embedded_chat => Some(EMBEDDED_INSTITUTION.to_owned()),
                None => None,
                Some(value) => Some(
                    crate::command::Institution::from_str(value.trim())
                        .map_err(|_| SettingsError::Invalid {
                            key: "CWS_INSTITUTION",
                            value,
                            reason: crate::command::INSTITUTION_RULE,
                        })?
                        .into(),
                ),
            },
            web_rate_limit: web_rate_limit.max(1),
            trusted_proxies,
            job_retention: Duration::from_secs(retention_days * 86_400),
            ops_channel: match sources.get("CWS_OPS_CHANNEL") {
                None => None,
                Some(value) if is_channel_id(value.trim()) => Some(value.trim().to_owned()),
                Some(value) => {
                    return Err(SettingsError::Invalid {
                        key: "CWS_OPS_CHANNEL",
                        value,
                        reason: "expected a channel id, not its name: Slack's C0123ABCD, or \
                                 Discord's digits, e.g. 1234567890123456789",
                    });
                }
            },
            templates_dir: sources
                .get("CWS_TEMPLATES_DIR")
                .map(|dir| dir.trim().to_owned()),
            offerings: Offerings::builtin(),
            template_publishers,
            template_signer,
        })
    }

    /// The Slack settings in force: the configured app, or the embedded local signer.
    pub fn slack_or_embedded(&self) -> SlackSettings {
        self.slack.clone().unwrap_or_else(|| SlackSettings {
            signing_secret: EMBEDDED_SLACK_SECRET.to_owned(),
            bot_token: None,
            api_url: SLACK_API_URL.to_owned(),
            hooks_url: UrlPrefix::parse(SLACK_HOOKS_URL).expect("a valid prefix"),
            files_url: UrlPrefix::parse(SLACK_FILES_URL).expect("a valid prefix"),
        })
    }

    /// The Slack settings with the bot token, when results are to be posted to Slack rather
    /// than printed to the terminal.
    pub fn slack_web_api(&self) -> Option<(&SlackSettings, &str)> {
        let slack = self.slack.as_ref()?;
        Some((slack, slack.bot_token.as_deref()?))
    }

    /// Components running on their embedded stand-in, for the start-up banner.
    pub fn embedded_components(&self) -> Vec<&'static str> {
        let mut embedded = Vec::new();
        if self.redis_url.is_none() {
            embedded.push("queue and state in memory (set REDIS_URL)");
        }
        if self.aws.is_none() {
            embedded.push("simulated cloud (set AWS_REGION and credentials)");
        }
        let discord_posts = self
            .discord
            .as_ref()
            .is_some_and(|d| d.bot_token.is_some() && d.application_id.is_some());
        if self.slack_web_api().is_none() && !discord_posts {
            embedded.push(
                "chat printed to this terminal (set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN, or the DISCORD_ settings)",
            );
        }
        if self.smtp_url.is_none() {
            embedded.push("mail written to ./cws-mail/ (set SMTP_URL)");
        }
        if self.globus.is_none() {
            embedded
                .push("identity verification off (set GLOBUS_CLIENT_ID and GLOBUS_CLIENT_SECRET)");
        }
        embedded
    }
}

fn discord_settings(
    sources: &Sources<'_>,
    public_key: String,
) -> Result<DiscordSettings, SettingsError> {
    let public_key = public_key.trim().to_ascii_lowercase();
    if public_key.len() != 64 || !public_key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SettingsError::Invalid {
            key: "DISCORD_PUBLIC_KEY",
            value: public_key,
            reason: "expected the application's public key: 64 hex digits",
        });
    }
    let application_id = match sources.get("DISCORD_APPLICATION_ID") {
        None => None,
        Some(value) => Some(value.trim().parse().map_err(|_| SettingsError::Invalid {
            key: "DISCORD_APPLICATION_ID",
            value,
            reason: "expected the application's id, a number",
        })?),
    };
    let api_url = sources
        .get("DISCORD_API_URL")
        .map(|url| url.trim().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| DISCORD_API_URL.to_owned());
    if !api_url.ends_with("/api/v10") {
        return Err(SettingsError::Invalid {
            key: "DISCORD_API_URL",
            value: api_url,
            reason: "expected a base ending in /api/v10, e.g. https://discord.com/api/v10",
        });
    }
    Ok(DiscordSettings {
        public_key,
        bot_token: sources.get("DISCORD_BOT_TOKEN"),
        application_id,
        api_url,
        cdn_url: url_prefix(sources, "DISCORD_CDN_URL", DISCORD_CDN_URL)?,
    })
}

/// A comma-separated setting, every entry valid, or the setting named with the first bad one.
fn listed<T: FromStr>(
    sources: &Sources<'_>,
    key: &'static str,
    reason: &'static str,
) -> Result<Vec<T>, SettingsError> {
    match sources.get(key) {
        None => Ok(Vec::new()),
        Some(value) => {
            parse_list(&value).map_err(|_| SettingsError::Invalid { key, value, reason })
        }
    }
}

fn url_prefix(
    sources: &Sources<'_>,
    key: &'static str,
    default: &str,
) -> Result<UrlPrefix, SettingsError> {
    let value = sources.get(key).unwrap_or_else(|| default.to_owned());
    UrlPrefix::parse(&value).map_err(|_| SettingsError::Invalid {
        key,
        value,
        reason: "expected an http or https URL prefix such as https://hooks.slack.com/",
    })
}

/// A Slack (`C0123ABCD`) or Discord (decimal digits) channel id: the platform is told by its
/// form ([`crate::job::Platform::of_id`]).
fn is_channel_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `+510d`, `+12h`, `+30m`, `+45s` (the `+` is optional).
fn clock_offset(text: &str) -> Option<Duration> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    let unit = text.chars().last()?;
    let count: u64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let seconds = match unit {
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        's' => 1,
        _ => return None,
    };
    count.checked_mul(seconds).map(Duration::from_secs)
}

/// Slack's Web API.
const SLACK_API_URL: &str = "https://slack.com/api/";

fn slack_api_url(configured: Option<String>) -> Result<String, SettingsError> {
    let mut url = configured.unwrap_or_else(|| SLACK_API_URL.to_owned());
    let parsed = url::Url::parse(url.trim()).ok();
    if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
        return Err(SettingsError::Invalid {
            key: "SLACK_API_URL",
            value: url,
            reason: "expected the Web API's http or https base URL, e.g. https://slack.com/api/",
        });
    }
    if !url.ends_with('/') {
        url.push('/');
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)], file: Option<&str>) -> Result<Settings, SettingsError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |key: &str| map.get(key).cloned();
        Settings::load(&Sources::new(&env, file)?)
    }

    #[test]
    fn nothing_configured_means_everything_embedded() {
        let settings = load(&[], None).unwrap();
        assert_eq!(settings.redis_url, None);
        assert_eq!(settings.aws, None);
        assert_eq!(settings.embedded_components().len(), 5);
        assert_eq!(settings.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(
            settings.slack_or_embedded().signing_secret,
            EMBEDDED_SLACK_SECRET
        );
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let file = "redis_url = \"redis://file:6379\"\naws_region = \"eu-west-1\"\n";
        let settings = load(&[("REDIS_URL", "redis://env:6379")], Some(file)).unwrap();
        assert_eq!(settings.redis_url.as_deref(), Some("redis://env:6379"));
        assert_eq!(settings.default_region, "eu-west-1");
    }

    #[test]
    fn discord_is_off_without_its_public_key_and_checked_with_it() {
        assert_eq!(load(&[], None).unwrap().discord, None);
        let key = "ab".repeat(32);
        let discord = load(
            &[
                ("DISCORD_PUBLIC_KEY", &key),
                ("DISCORD_APPLICATION_ID", "1100000000000000001"),
                ("DISCORD_BOT_TOKEN", "bot-token"),
            ],
            None,
        )
        .unwrap()
        .discord
        .unwrap();
        assert_eq!(discord.api_url, "https://discord.com/api/v10");
        assert_eq!(discord.proxy(), None);
        assert_eq!(discord.application_id, Some(1_100_000_000_000_000_001));
        let local = load(
            &[
                ("DISCORD_PUBLIC_KEY", &key),
                ("DISCORD_API_URL", "http://127.0.0.1:9/api/v10/"),
            ],
            None,
        )
        .unwrap()
        .discord
        .unwrap();
        assert_eq!(local.proxy(), Some("http://127.0.0.1:9"));
        assert!(load(&[("DISCORD_PUBLIC_KEY", "not-hex")], None).is_err());
        assert!(
            load(
                &[
                    ("DISCORD_PUBLIC_KEY", &key),
                    ("DISCORD_API_URL", "http://127.0.0.1:9/")
                ],
                None
            )
            .is_err()
        );
    }

    #[test]
    fn slack_api_url_always_ends_with_a_slash() {
        let settings = load(
            &[
                ("SLACK_SIGNING_SECRET", "s"),
                ("SLACK_API_URL", "http://127.0.0.1:9/api"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(settings.slack.unwrap().api_url, "http://127.0.0.1:9/api/");
    }

    #[test]
    fn hooks_files_and_cdn_default_to_the_platforms_hosts() {
        let key = "ab".repeat(32);
        let pairs = [
            ("SLACK_SIGNING_SECRET", "s"),
            ("DISCORD_PUBLIC_KEY", key.as_str()),
        ];
        let settings = load(&pairs, None).unwrap();
        let slack = settings.slack.unwrap();
        assert_eq!(slack.hooks_url.to_string(), SLACK_HOOKS_URL);
        assert_eq!(slack.files_url.to_string(), SLACK_FILES_URL);
        assert_eq!(
            settings.discord.unwrap().cdn_url.to_string(),
            DISCORD_CDN_URL
        );
        let moved = load(
            &[
                ("SLACK_SIGNING_SECRET", "s"),
                ("SLACK_HOOKS_URL", "http://127.0.0.1:9/response"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            moved.slack.unwrap().hooks_url.to_string(),
            "http://127.0.0.1:9/response/"
        );
        let error = load(
            &[
                ("SLACK_SIGNING_SECRET", "s"),
                ("SLACK_FILES_URL", "files.slack.com"),
            ],
            None,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("SLACK_FILES_URL=files.slack.com"),
            "{error}"
        );
    }

    #[test]
    fn the_clock_moves_forward_by_whole_units() {
        let offset = |text: &str| load(&[("CWS_CLOCK_OFFSET", text)], None).map(|s| s.clock_offset);
        assert_eq!(offset("+510d"), Ok(Duration::from_secs(510 * 86_400)));
        assert_eq!(offset("12h"), Ok(Duration::from_secs(43_200)));
        assert!(offset("-1d").is_err());
        assert!(offset("soon").is_err());
        assert_eq!(load(&[], None).unwrap().clock_offset, Duration::ZERO);
    }

    #[test]
    fn retention_and_the_unsigned_routes_limit_have_defaults() {
        let defaults = load(&[], None).unwrap();
        assert_eq!(defaults.job_retention, Duration::from_secs(7 * 86_400));
        assert_eq!(defaults.web_rate_limit, 30);
        assert_eq!(defaults.trusted_proxies, 0);
        let set = load(
            &[
                ("CWS_JOB_RETENTION_DAYS", "30"),
                ("CWS_WEB_RATE_LIMIT", "600"),
                ("CWS_TRUSTED_PROXIES", "1"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(set.job_retention, Duration::from_secs(30 * 86_400));
        assert_eq!((set.web_rate_limit, set.trusted_proxies), (600, 1));
    }

    #[test]
    fn the_ops_channel_is_a_channel_id() {
        let channel = |text: &str| load(&[("CWS_OPS_CHANNEL", text)], None).map(|s| s.ops_channel);
        assert_eq!(channel("C0OPS"), Ok(Some("C0OPS".to_owned())));
        assert_eq!(
            channel("1234567890123456789"),
            Ok(Some("1234567890123456789".to_owned()))
        );
        let error = channel("#cws-ops").unwrap_err().to_string();
        assert!(error.starts_with("CWS_OPS_CHANNEL=#cws-ops"), "{error}");
        assert_eq!(load(&[], None).unwrap().ops_channel, None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let error = load(&[("CWS_LISTEN", "nowhere")], None).unwrap_err();
        assert!(
            error.to_string().starts_with("CWS_LISTEN=nowhere"),
            "{error}"
        );
        assert!(load(&[("CWS_WORKER_CONCURRENCY", "0")], None).is_err());
        assert!(load(&[("CWS_JOB_RETENTION_DAYS", "0")], None).is_err());
        assert!(load(&[("CWS_TRUSTED_PROXIES", "-1")], None).is_err());
        assert!(load(&[("CWS_SCHEDULE", "every minute")], None).is_err());
        let short = load(&[("CWS_TOKEN_KEY", "hunter2")], None)
            .unwrap_err()
            .to_string();
        assert!(
            short.starts_with("CWS_TOKEN_KEY=<7 bytes, not shown>"),
            "{short}"
        );
        assert!(!short.contains("hunter2"), "{short}");
        let long = "k".repeat(32);
        assert_eq!(
            load(&[("CWS_TOKEN_KEY", &long)], None).unwrap().token_key,
            Some(long.clone())
        );
        assert!(load(&[("CWS_DIGEST_AT", "someday 09:00")], None).is_err());
        let shared = load(
            &[
                ("AWS_REGION", "us-east-1"),
                ("CWS_INSTANCE_PROFILE", "cws-workstation"),
            ],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(shared.contains("CWS_WORKSTATION_POLICY"), "{shared}");
        let settings = load(
            &[
                ("CWS_SCHEDULE", "*/5 * * * * *"),
                ("CWS_DIGEST_AT", "fri 17:30"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(settings.digest_at.to_string(), "Friday 17:30");
        assert_eq!(
            load(&[("CWS_SCHEDULE", "off")], None).unwrap().schedule,
            None
        );
    }

    #[test]
    fn globus_needs_a_client_and_defaults_to_globus_auth() {
        assert_eq!(
            load(&[("GLOBUS_CLIENT_ID", "id")], None).unwrap().globus,
            None
        );
        let globus = load(
            &[
                ("GLOBUS_CLIENT_ID", "id"),
                ("GLOBUS_CLIENT_SECRET", "hunter2"),
            ],
            None,
        )
        .unwrap()
        .globus
        .unwrap();
        assert_eq!(globus.issuer_url, "https://auth.globus.org");
        assert!(!format!("{globus:?}").contains("hunter2"));
    }
}
