use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::harness::moto::free_port;

/// `cargo run` with nothing configured: the banner says so, and a command sent with `cws say`
/// is launched on the simulated cloud and announced on the terminal; identity verification
/// says it is not configured.
#[tokio::test(flavor = "multi_thread")]
async fn with_nothing_configured_cws_runs_embedded_and_launches_on_the_simulated_cloud() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut cws = Command::new(env!("CARGO_BIN_EXE_cws"))
        .env_clear()
        .env("CWS_LISTEN", &listen)
        .env("CWS_CONFIG", "/dev/null")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut terminal = BufReader::new(cws.stdout.take().unwrap()).lines();
    let read_until = async |terminal: &mut tokio::io::Lines<_>, wanted: &str| -> String {
        let found = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = terminal.next_line().await.unwrap() {
                if line.contains(wanted) {
                    return line;
                }
            }
            panic!("cws exited before printing {wanted:?}");
        });
        found
            .await
            .unwrap_or_else(|_| panic!("cws never printed {wanted:?}"))
    };
    read_until(&mut terminal, "EMBEDDED MODE").await;
    read_until(&mut terminal, "Slack endpoint").await;

    let say = async |text: &str| {
        Command::new(env!("CARGO_BIN_EXE_cws"))
            .env_clear()
            .env("CWS_CONFIG", "/dev/null")
            .args(["say", "--url", &format!("http://{listen}"), text])
            .output()
            .await
            .unwrap()
    };
    let created = say("/cws project create demo --budget 500").await;
    assert!(created.status.success());
    read_until(&mut terminal, "Project *demo* created").await;
    let said = say("/cws launch \"R Research Environment\" berkeley-analysis --size L").await;
    let reply = String::from_utf8_lossy(&said.stdout);
    assert!(
        said.status.success(),
        "{reply} {}",
        String::from_utf8_lossy(&said.stderr)
    );
    assert!(reply.contains("Launching *berkeley-analysis*"), "{reply}");
    assert!(reply.contains("r5.xlarge"), "{reply}");

    let announced = read_until(&mut terminal, "launched *berkeley-analysis*").await;
    assert!(announced.starts_with("[#C-TERMINAL] ✅"), "{announced}");
    assert!(announced.contains("$0.252/h"), "{announced}");

    // No Globus client configured: verification says so instead of offering a link.
    let verify = say("/cws profiles verify").await;
    assert!(verify.status.success());
    read_until(
        &mut terminal,
        "identity verification is not configured on this deployment",
    )
    .await;
}
