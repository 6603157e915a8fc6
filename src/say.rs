//! Sends a slash command to a bot as Slack does: a signed, form-encoded POST.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use domain::slack_signature;

/// Posts `text` (with or without the leading `/cws`) and returns the bot's immediate answer.
pub async fn send(
    base_url: &str,
    secret: &str,
    text: &str,
    user: &str,
    channel: &str,
) -> anyhow::Result<String> {
    let text = text.trim();
    let text = text.strip_prefix("/cws").unwrap_or(text).trim_start();
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)?
        .as_secs()
        .to_string();
    let trigger = uuid::Uuid::new_v4().simple().to_string();
    let body = serde_urlencoded::to_string([
        ("command", "/cws"),
        ("text", text),
        ("team_id", domain::settings::EMBEDDED_TEAM_ID),
        ("team_domain", "local"),
        ("channel_id", channel),
        ("channel_name", "terminal"),
        ("user_id", user),
        ("user_name", user),
        ("trigger_id", trigger.as_str()),
    ])?;
    let signature = slack_signature::sign(secret.as_bytes(), &timestamp, body.as_bytes());
    let response = reqwest::Client::new()
        .post(format!("{}/slack/commands", base_url.trim_end_matches('/')))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &timestamp)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await
        .with_context(|| format!("is the bot running at {base_url}?"))?;
    let status = response.status();
    let reply = response.text().await?;
    if !status.is_success() {
        anyhow::bail!("the bot answered {status}: {reply}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&reply).context("the bot's answer is not JSON")?;
    Ok(json["text"].as_str().unwrap_or(&reply).to_owned())
}
