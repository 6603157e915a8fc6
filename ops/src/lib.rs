//! What the bot and the workers set up alike: their logs, and the endpoints an orchestrator
//! and Prometheus read (`/healthz`, `/readyz`, `/metrics`).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use domain::settings::{LogFormat, Settings, SettingsError, Sources};
use domain::template::{FileProblem, Offerings, SignedFile};
use domain::template_trust::Publishers;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why a process could not read its settings at start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "CWS_CONFIG={path}: {source} (point it at a readable cws.toml, or unset it to use \
         ./cws.toml when present and the environment alone otherwise)"
    )]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(
        "CWS_TEMPLATES_DIR={dir}: {problem} (point it at a copy of the shipped templates/, or unset it to use those)"
    )]
    TemplatesDir { dir: String, problem: String },
    #[error(
        "CWS_TEMPLATES_DIR={dir}: fix every file named below, or unset it to use the shipped \
         templates{}",
        one_a_line(problems)
    )]
    Templates {
        dir: String,
        problems: Vec<FileProblem>,
    },
}

/// Each problem on a line of its own, indented under the message that introduces them.
fn one_a_line(problems: &[FileProblem]) -> String {
    problems
        .iter()
        .map(|problem| format!("\n  {problem}"))
        .collect()
}

/// The settings every binary starts from: the environment, then `cws.toml` (the file
/// `CWS_CONFIG` names, which must then be readable; else `./cws.toml` if there is one). Every
/// value is checked here, so a bad one stops the process at start, named, with an example.
pub fn load_settings() -> Result<Settings, LoadError> {
    let text = match std::env::var("CWS_CONFIG") {
        Ok(path) => Some(
            std::fs::read_to_string(&path).map_err(|source| LoadError::File { path, source })?,
        ),
        Err(_) => std::fs::read_to_string("cws.toml").ok(),
    };
    let env = |key: &str| std::env::var(key).ok();
    let mut settings = Settings::load(&Sources::new(&env, text.as_deref())?)?;
    if let Some(dir) = &settings.templates_dir {
        settings.offerings = load_templates(dir, &settings.template_publishers)?;
    }
    Ok(settings)
}

/// The templates and prices in `dir`: its `*.yml` files, each with the signature beside it
/// (`NAME.yml.sig`), checked together against the trusted publishers.
fn load_templates(dir: &str, publishers: &Publishers) -> Result<Offerings, LoadError> {
    let unreadable = |problem: String| LoadError::TemplatesDir {
        dir: dir.to_owned(),
        problem,
    };
    let entries = std::fs::read_dir(dir).map_err(|error| unreadable(error.to_string()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|error| unreadable(error.to_string()))?.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if !name.ends_with(".yml") || !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|error| unreadable(format!("{name}: {error}")))?;
        let signature_path = path.with_file_name(format!("{name}.sig"));
        let signature = match std::fs::read_to_string(&signature_path) {
            Ok(signature) => Some(signature),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(unreadable(format!("{name}.sig: {error}"))),
        };
        files.push((name.to_owned(), text, signature));
    }
    // Sorted, so that which of two same-named templates is reported as the duplicate does not
    // depend on the file system's order.
    files.sort();
    let files: Vec<SignedFile<'_>> = files
        .iter()
        .map(|(name, text, signature)| SignedFile {
            name,
            text,
            signature: signature.as_deref(),
        })
        .collect();
    Offerings::from_files(&files, publishers).map_err(|problems| LoadError::Templates {
        dir: dir.to_owned(),
        problems,
    })
}

/// Logs to stderr (stdout stays for what a command prints), as text or as JSON lines
/// (`CWS_LOG_FORMAT=json`) for a log shipper; `RUST_LOG` overrides `default_filter`.
pub fn init_logging(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| default_filter.into());
    // Colours only on a terminal: a log file or a container's log driver gets plain text.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

/// Resolves when the process is asked to stop (SIGTERM, as an orchestrator asks, or ctrl-c):
/// the bot then takes no new connections and answers the requests it holds, and a worker
/// takes no new jobs and lets those in flight finish. A process killed outright is covered by
/// Slack's retry (the bot) and the orphan re-enqueue (workers) instead.
pub async fn stop_requested() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}

/// [`stop_requested`] for a server that drains: resolves on the stop, saying that it answers
/// the requests in flight and takes no new ones.
pub async fn draining() {
    if let Err(error) = stop_requested().await {
        tracing::error!("cannot watch for SIGTERM ({error}); stopping");
    }
    tracing::info!("stop requested: answering the requests in flight, taking no new ones");
}

/// What a process answers on its probes.
#[async_trait]
pub trait Probe: Send + Sync {
    /// Whether the process can do its work now (its queue answers); why not otherwise.
    async fn ready(&self) -> Result<(), String>;
    /// Its metrics in the Prometheus text format, sampled now.
    async fn metrics(&self) -> String;
}

/// The metrics in `registry`, in the text format (OpenMetrics, which Prometheus reads).
pub fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry)
        .expect("writing to a String does not fail");
    text
}

const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `/healthz`, `/readyz` and `/metrics`, answered by `probe`.
pub fn router<S>(probe: Arc<dyn Probe>) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(probe)
}

/// The process is alive; it says nothing about Redis, so an orchestrator restarts a process
/// only when the process itself is stuck.
async fn healthz() -> &'static str {
    "ok"
}

/// Can this process do its work now? While Redis does not answer, a bot still answers
/// commands (asking people to try again) and a worker waits, but neither is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

async fn readyz(State(probe): State<Arc<dyn Probe>>) -> (StatusCode, String) {
    match tokio::time::timeout(READY_TIMEOUT, probe.ready()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready".to_owned()),
        Ok(Err(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {error}"),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: the queue did not answer within {READY_TIMEOUT:?}"),
        ),
    }
}

async fn metrics(State(probe): State<Arc<dyn Probe>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        probe.metrics().await,
    )
}

#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("{0}: {1}")]
    Unreachable(SocketAddr, std::io::Error),
    #[error("{0} did not answer within {HEALTHCHECK_TIMEOUT:?}")]
    Timeout(SocketAddr),
    #[error("{0} answered `{1}`")]
    Unhealthy(SocketAddr, String),
}

const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks the process listening on `listen` for `/healthz`, as a container's health check
/// does: the images carry no HTTP client, so the binaries are their own.
pub async fn healthcheck(listen: SocketAddr) -> Result<(), HealthcheckError> {
    // A process listening on every address is reached on loopback.
    let address = match listen.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, listen.port()))
        }
        ip if ip.is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, listen.port())),
        _ => listen,
    };
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(HEALTHCHECK_TIMEOUT, ask)
        .await
        .map_err(|_| HealthcheckError::Timeout(address))?
        .map_err(|error| HealthcheckError::Unreachable(address, error))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) == Some("200") {
        Ok(())
    } else {
        Err(HealthcheckError::Unhealthy(address, status.to_owned()))
    }
}
