//! A front for moto that forwards every AWS request unchanged, but can hold or fail
//! `RunInstances` (or hold `CreateSnapshot` or EFS `CreateFileSystem`): that is how tests catch
//! a launch "in flight" or make AWS refuse, with the real SDK and the real wire format on both sides. It also counts
//! requests by method and path, which tells how often an S3 object was written.
//!
//! moto 5.2 lacks EC2 `ModifySnapshotTier`: the front answers it itself, in EC2's XML wire
//! format, for snapshots moto holds (`InvalidSnapshot.NotFound` otherwise, as EC2 says), and
//! remembers which snapshots went to the archive tier.
//!
//! moto records SSM commands but runs none; for `download`'s script the front does what the
//! workstation would: it archives a small folder and PUTs it to the presigned link the script
//! was given, before SSM answers, so the worker finds (or misses) a real object in moto's S3.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Forward RunInstances (so the instance exists) but never answer it.
    HoldAfterRunInstances,
    /// Forward the first CreateSnapshot (so the snapshot exists) but never answer it, nor
    /// anything after it: a worker stuck there is one that died in the middle of a step.
    HoldAfterCreateSnapshot,
    /// Forward EFS CreateFileSystem (so the file system exists) but never answer it: the
    /// worker dies between the file system and its access points.
    HoldAfterCreateFileSystem,
    /// Answer the next `times` RunInstances with this EC2 error instead of forwarding.
    FailRunInstances {
        times: usize,
        status: u16,
        code: &'static str,
    },
}

struct Front {
    upstream: String,
    http: reqwest::Client,
    fault: Mutex<Fault>,
    run_instances: AtomicUsize,
    seen: Notify,
    requests: Mutex<Vec<(Method, String)>>,
    archived: Mutex<Vec<String>>,
}

pub struct AwsFront {
    url: String,
    front: Arc<Front>,
}

impl AwsFront {
    pub async fn start(upstream: String) -> AwsFront {
        let front = Arc::new(Front {
            upstream,
            http: reqwest::Client::new(),
            fault: Mutex::new(Fault::None),
            run_instances: AtomicUsize::new(0),
            seen: Notify::new(),
            requests: Mutex::default(),
            archived: Mutex::default(),
        });
        // S3 uploads (a 10,000-event audit export) are larger than axum's 2 MB default.
        let app = axum::Router::new()
            .fallback(forward)
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(front.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        AwsFront { url, front }
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.front.fault.lock().unwrap() = fault;
    }

    /// RunInstances calls that reached the front (held, failed or forwarded).
    pub fn run_instances_calls(&self) -> usize {
        self.front.run_instances.load(Ordering::SeqCst)
    }

    /// How many `method` requests for `path` (an S3 object is `/{bucket}/{key}`) reached the
    /// front.
    pub fn requests_to(&self, method: Method, path: &str) -> usize {
        let requests = self.front.requests.lock().unwrap();
        requests
            .iter()
            .filter(|(m, p)| *m == method && p == path)
            .count()
    }

    /// The snapshots moved to the archive tier (`ModifySnapshotTier`), in order.
    pub fn archived_snapshots(&self) -> Vec<String> {
        self.front.archived.lock().unwrap().clone()
    }

    pub async fn wait_for_run_instances(&self, calls: usize, timeout: Duration) {
        tokio::time::timeout(timeout, async {
            loop {
                let notified = self.front.seen.notified();
                if self.run_instances_calls() >= calls {
                    return;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {calls} RunInstances call(s) within {timeout:?}"));
    }
}

/// EC2's error `code`, with EC2's own message where a test reads it.
fn ec2_error(status: u16, code: &str) -> Response {
    let message = match code {
        "VcpuLimitExceeded" => {
            "You have requested more vCPU capacity than your current vCPU limit of 0 allows for \
             the instance bucket that the specified instance type belongs to. Please visit \
             http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."
        }
        _ => "injected by the e2e AWS front",
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>e2e-request</RequestID></Response>"
    );
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "text/xml")],
        body,
    )
        .into_response()
}

async fn forward(
    State(front): State<Arc<Front>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    front
        .requests
        .lock()
        .unwrap()
        .push((method.clone(), uri.path().to_owned()));
    let is_run_instances = body.windows(19).any(|w| w == b"Action=RunInstances");
    let is_create_snapshot = body.windows(22).any(|w| w == b"Action=CreateSnapshot&");
    let is_create_file_system = method == Method::POST && uri.path() == "/2015-02-01/file-systems";
    if headers
        .get("x-amz-target")
        .is_some_and(|target| target == "AmazonSSM.SendCommand")
    {
        upload_as_the_workstation(&front.http, &body).await;
    }
    let action = b"Action=ModifySnapshotTier";
    if body.windows(action.len()).any(|w| w == action) {
        return modify_snapshot_tier(&front, &headers, &body).await;
    }
    let fault = front.fault.lock().unwrap().clone();
    if let (
        true,
        Fault::FailRunInstances {
            times,
            status,
            code,
        },
    ) = (is_run_instances, &fault)
        && *times > 0
    {
        *front.fault.lock().unwrap() = Fault::FailRunInstances {
            times: times - 1,
            status: *status,
            code,
        };
        front.run_instances.fetch_add(1, Ordering::SeqCst);
        front.seen.notify_waiters();
        return ec2_error(*status, code);
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = front
        .http
        .request(method, format!("{}{path}", front.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let upstream = match request.send().await {
        Ok(response) => response,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let status = upstream.status();
    let content_type = upstream.headers().get("content-type").cloned();
    let bytes = upstream.bytes().await.unwrap_or_default();
    if (is_create_snapshot && fault == Fault::HoldAfterCreateSnapshot)
        || (is_create_file_system && fault == Fault::HoldAfterCreateFileSystem)
    {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if is_run_instances {
        front.run_instances.fetch_add(1, Ordering::SeqCst);
        front.seen.notify_waiters();
        if fault == Fault::HoldAfterRunInstances {
            // The instance now exists in moto; the caller never learns it.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    let mut response = (status, bytes).into_response();
    if let Some(content_type) = content_type {
        response.headers_mut().insert("content-type", content_type);
    }
    response
}

/// EC2's `ModifySnapshotTier` (StorageTier=archive) for a snapshot moto holds: asked of moto
/// with DescribeSnapshots in the caller's region (the same signed headers), then answered as
/// EC2 answers it.
async fn modify_snapshot_tier(front: &Front, headers: &HeaderMap, body: &[u8]) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let Some(snapshot_id) = field("SnapshotId") else {
        return ec2_error(400, "MissingParameter");
    };
    if field("StorageTier").as_deref() != Some("archive") {
        return ec2_error(400, "InvalidParameterValue");
    }
    let describe = serde_urlencoded::to_string([
        ("Action", "DescribeSnapshots"),
        ("Version", "2016-11-15"),
        ("SnapshotId.1", snapshot_id.as_str()),
    ])
    .unwrap();
    let mut request = front
        .http
        .post(format!("{}/", front.upstream))
        .body(describe);
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let found = match request.send().await {
        Ok(response) => response.status().is_success(),
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    if !found {
        return ec2_error(400, "InvalidSnapshot.NotFound");
    }
    front.archived.lock().unwrap().push(snapshot_id.clone());
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ModifySnapshotTierResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>e2e-request</requestId><snapshotId>{snapshot_id}</snapshotId><tieringStartTime>{}</tieringStartTime></ModifySnapshotTierResponse>",
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}

/// What a download script asks the workstation to upload to, if `body` (a SendCommand) carries
/// one: the script's `UPLOAD_URL='…'` line.
fn upload_url(body: &[u8]) -> Option<String> {
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    let script = request["Parameters"]["commands"][0].as_str()?;
    let quoted = script
        .lines()
        .find_map(|line| line.strip_prefix("UPLOAD_URL='"))?;
    Some(quoted.strip_suffix('\'')?.to_owned())
}

/// Archives a folder holding `results/figure.csv`, as `tar -czf` on the workstation would,
/// and PUTs it to the script's presigned link.
async fn upload_as_the_workstation(http: &reqwest::Client, body: &[u8]) {
    let Some(url) = upload_url(body) else {
        return;
    };
    let home = std::env::temp_dir().join(format!("cws-e2e-home-{}", std::process::id()));
    std::fs::create_dir_all(home.join("results")).unwrap();
    std::fs::write(home.join("results/figure.csv"), "x,y\n1,2\n").unwrap();
    let archive = std::process::Command::new("tar")
        .arg("-C")
        .arg(&home)
        .args(["-czf", "-", "results"])
        .output()
        .expect("tar archives the stand-in home");
    assert!(archive.status.success(), "tar failed");
    let response = http.put(&url).body(archive.stdout).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "the presigned upload was refused: {}",
        response.text().await.unwrap_or_default()
    );
}
