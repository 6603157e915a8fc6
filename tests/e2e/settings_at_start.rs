//! Fail fast: each of the three binaries, given one bad setting, stops at start (before it
//! listens or takes a job) with the setting's name, what is wrong and an example.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary `name` beside `cws` (cargo builds all three for `cargo test --workspace`).
pub(crate) fn binary(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_cws")).with_file_name(name);
    assert!(
        path.exists(),
        "{} is not built: run the suite with `cargo test --workspace`",
        path.display()
    );
    path
}

/// Runs `program args` with only `settings` (and PATH) set; returns its exit success and
/// stderr, failing if it is still running after 20 s.
pub(crate) fn run_with(
    program: &PathBuf,
    args: &[&str],
    settings: &[(&str, &str)],
) -> (bool, String) {
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(settings.iter().copied())
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "{} {args:?} with {settings:?} is still running",
                program.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn each_bad_setting_stops_every_binary_at_start_naming_it() {
    // (setting, value, what the message must also say)
    let cases = [
        ("CWS_TOKEN_KEY", "hunter2", "at least 32 bytes"),
        ("SLACK_API_URL", "slack.com/api", "e.g."),
        ("CWS_SCHEDULE", "every minute", "e.g."),
        ("CWS_DIGEST_AT", "someday 09:00", "e.g."),
        ("CWS_SSH_CIDRS", "0.0.0.0/0", "Session Manager"),
        ("CWS_LISTEN", "nowhere", "e.g."),
        ("CWS_CONFIG", "/nonexistent/cws.toml", "No such file"),
    ];
    let binaries = [
        (binary("cws-bot"), vec![]),
        (binary("cws-worker"), vec![]),
        (binary("cws"), vec!["worker"]),
    ];
    for (program, args) in &binaries {
        for (key, value, says) in cases {
            // Slack's settings are read when Slack is configured.
            let settings = [(key, value), ("SLACK_SIGNING_SECRET", "0123456789abcdef")];
            let (succeeded, stderr) = run_with(program, args, &settings);
            let who = format!("{} {args:?} with {key}={value}", program.display());
            assert!(!succeeded, "{who} started: {stderr}");
            assert!(stderr.contains(key), "{who} does not name {key}: {stderr}");
            assert!(
                stderr.contains(says),
                "{who} does not say {says:?}: {stderr}"
            );
            assert!(
                !stderr.contains("panicked"),
                "{who} panicked instead of explaining: {stderr}"
            );
        }
    }
}
