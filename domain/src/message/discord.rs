//! Messages as Discord takes them. Every message is written once, as a template in
//! `message-templates/slack/`, from data the message function gathers; Discord receives that
//! same rendering in its own form: mrkdwn becomes Discord markdown, sections paragraphs,
//! context lines Discord's small text, and buttons message components. A message whose
//! Discord form differs (the weekly digest's embed) carries its own rendering from
//! `message-templates/discord/` in [`ChatMessage::discord`].
//!
//! Discord's limits are kept here, so no adapter can break them: 2,000 characters of content
//! (longer messages are split at line ends, code blocks closed and reopened across the cut),
//! `custom_id` ≤ 100 characters, 5 buttons a row and 5 rows, 10 embeds, and the embed limits.

use serde::Serialize;
use serde_json::{Value, json};

use super::ChatMessage;
use crate::job::Action;

/// Characters of `content` in one message.
pub const CONTENT_LIMIT: usize = 2_000;
/// Characters of a component's `custom_id`.
pub const CUSTOM_ID_LIMIT: usize = 100;
const BUTTONS_PER_ROW: usize = 5;
const ROWS: usize = 5;
/// Embed limits: title, description, fields, field name, field value, footer, and all text.
const EMBED_TITLE: usize = 256;
const EMBED_DESCRIPTION: usize = 4_096;
const EMBED_FIELDS: usize = 25;
const EMBED_FIELD_NAME: usize = 256;
const EMBED_FIELD_VALUE: usize = 1_024;
const EMBED_FOOTER: usize = 2_048;
pub const EMBED_TOTAL: usize = 6_000;
/// Embeds in one message.
pub const EMBEDS: usize = 10;

/// The `flags` bit that shows a message only to the person who asked.
pub const EPHEMERAL: u64 = 1 << 6;

/// One Discord message body: what `POST /channels/{id}/messages` and the interaction
/// webhook's follow-ups take.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscordMessage {
    pub content: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Value>,
    /// Mentions of people ping them; `@everyone`, `@here` and roles in any text never do.
    pub allowed_mentions: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u64>,
}

/// The Discord messages that carry `message`: one, or several when its text is longer than
/// Discord allows. Buttons and embeds ride on the last.
pub fn discord_messages(message: &ChatMessage) -> Vec<DiscordMessage> {
    let (content, embeds) = match &message.discord {
        Some(own) => (
            own["content"].as_str().unwrap_or_default().to_owned(),
            own["embeds"]
                .as_array()
                .map(|embeds| embeds.iter().take(EMBEDS).map(fit_embed).collect())
                .unwrap_or_default(),
        ),
        None => (content_of(message), Vec::new()),
    };
    let (components, unreachable) = components_of(&message.blocks);
    let mut content = content;
    if unreachable > 0 {
        content.push_str(
            "\n-# A button of this message does not fit Discord's limits; use it from Slack.",
        );
    }
    let mut parts: Vec<DiscordMessage> = split_content(&content, CONTENT_LIMIT)
        .into_iter()
        .map(|content| DiscordMessage {
            content,
            embeds: Vec::new(),
            components: Vec::new(),
            allowed_mentions: json!({ "parse": ["users"] }),
            flags: None,
        })
        .collect();
    let last = parts
        .last_mut()
        .expect("split_content returns at least one part");
    last.embeds = embeds;
    last.components = components;
    parts
}

/// The button a Discord `custom_id` names: the Slack `action_id` without its `cws_` prefix,
/// a colon, and the button's signed value.
pub fn discord_custom_id(action_id: &str, value: &str) -> String {
    let code = ACTION_CODES
        .iter()
        .find(|(id, _)| *id == action_id)
        .map_or_else(
            || action_id.strip_prefix("cws_").unwrap_or(action_id),
            |(_, code)| code,
        );
    format!("{code}:{value}")
}

/// Each button's code in a Discord `custom_id`: two letters, since Discord takes at most 100
/// characters for the action, its signed value and a workspace name of up to 63.
const ACTION_CODES: [(&str, &str); 10] = [
    (Action::REQUEST_EXCEPTION, "re"),
    (Action::APPROVE_EXCEPTION, "ae"),
    (Action::DENY_EXCEPTION, "de"),
    (Action::APPROVE_PROJECT, "ap"),
    (Action::DENY_PROJECT, "dp"),
    (Action::APPROVE_TEMPLATE, "at"),
    (Action::DENY_TEMPLATE, "dt"),
    (Action::CONFIRM_TERMINATE, "ct"),
    (Action::KEEP_RUNNING, "ik"),
    (Action::HIBERNATE_NOW, "ih"),
];

/// The action a clicked Discord button stands for, with the reason typed in its modal. A
/// button posted before the codes names its action in full.
pub fn action_from_custom_id(custom_id: &str, reason: Option<&str>) -> Option<Action> {
    let (code, value) = custom_id.split_once(':')?;
    let action_id = ACTION_CODES
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| format!("cws_{code}"), |(id, _)| (*id).to_owned());
    Action::from_button(&action_id, value, reason)
}

/// Whether the action asks for a reason first. Discord messages hold no text boxes, so where
/// Slack shows a reason box beside Approve and Deny, Discord opens a modal on the click.
pub fn asks_for_reason(action: &Action) -> bool {
    matches!(
        action,
        Action::ApproveException { .. }
            | Action::DenyException { .. }
            | Action::ApproveProject { .. }
            | Action::DenyProject { .. }
            | Action::ApproveTemplate { .. }
            | Action::DenyTemplate { .. }
    )
}

/// The modal that asks for the reason of an approval or denial; it carries the button's
/// `custom_id`, so its submission is the click.
pub fn exception_reason_modal(custom_id: &str, action: &Action) -> Value {
    super::render_discord(
        "exception_reason",
        &json!({
            "custom_id": custom_id,
            "approve": matches!(
                action,
                Action::ApproveException { .. }
                    | Action::ApproveProject { .. }
                    | Action::ApproveTemplate { .. }
            ),
            "reason_input": Action::REASON_INPUT,
            "what": match action {
                Action::ApproveProject { .. } | Action::DenyProject { .. } => "project request",
                Action::ApproveTemplate { .. } | Action::DenyTemplate { .. } => "template proposal",
                _ => "exception",
            },
        }),
    )
}

fn content_of(message: &ChatMessage) -> String {
    if message.blocks.is_empty() {
        return discord_markdown(&message.text);
    }
    let mut paragraphs = Vec::new();
    for block in &message.blocks {
        let text = |value: &Value| value["text"].as_str().unwrap_or_default().to_owned();
        match block["type"].as_str().unwrap_or_default() {
            "section" => {
                let mut lines = Vec::new();
                if block["text"].is_object() {
                    lines.push(discord_markdown(&text(&block["text"])));
                }
                for field in block["fields"].as_array().into_iter().flatten() {
                    lines.push(discord_markdown(&field_line(&text(field))));
                }
                paragraphs.push(lines.join("\n"));
            }
            "header" => paragraphs.push(format!("### {}", text(&block["text"]))),
            "context" => {
                let joined: Vec<String> = block["elements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|element| discord_markdown(&text(element)))
                    .collect();
                let small: Vec<String> = joined
                    .join(" · ")
                    .lines()
                    .map(|line| format!("-# {line}"))
                    .collect();
                paragraphs.push(small.join("\n"));
            }
            // Buttons become components; Discord messages hold no text boxes, and a divider
            // is the paragraph break itself.
            _ => {}
        }
    }
    paragraphs.retain(|p| !p.trim().is_empty());
    paragraphs.join("\n\n")
}

/// A Slack field is a bold label above its value, laid out in columns; Discord has no
/// columns, so each becomes one line: `*Type*\n`t3.large`` → `*Type*: `t3.large``.
fn field_line(field: &str) -> String {
    match field.split_once('\n') {
        Some((label, value))
            if label.len() > 2 && label.starts_with('*') && label.ends_with('*') =>
        {
            format!("{label}: {value}")
        }
        _ => field.to_owned(),
    }
}

/// Slack buttons as Discord action rows; the second value counts buttons left out because
/// their `custom_id` would be too long.
fn components_of(blocks: &[Value]) -> (Vec<Value>, usize) {
    let mut buttons = Vec::new();
    let mut unreachable = 0;
    for element in blocks
        .iter()
        .filter(|block| block["type"] == "actions")
        .flat_map(|block| block["elements"].as_array().cloned().unwrap_or_default())
        .filter(|element| element["type"] == "button")
    {
        let custom_id = discord_custom_id(
            element["action_id"].as_str().unwrap_or_default(),
            element["value"].as_str().unwrap_or_default(),
        );
        if custom_id.chars().count() > CUSTOM_ID_LIMIT {
            unreachable += 1;
            continue;
        }
        // Discord's styles: 1 primary (blurple), 2 secondary (grey), 4 danger (red).
        let style = match element["style"].as_str() {
            Some("primary") => 1,
            Some("danger") => 4,
            _ => 2,
        };
        buttons.push(json!({
            "type": 2,
            "style": style,
            "label": element["text"]["text"].as_str().unwrap_or_default(),
            "custom_id": custom_id,
        }));
    }
    unreachable += buttons.len().saturating_sub(BUTTONS_PER_ROW * ROWS);
    buttons.truncate(BUTTONS_PER_ROW * ROWS);
    let rows = buttons
        .chunks(BUTTONS_PER_ROW)
        .map(|row| json!({ "type": 1, "components": row }))
        .collect();
    (rows, unreachable)
}

/// Slack mrkdwn as Discord markdown: `*bold*` → `**bold**`, `~strike~` → `~~strike~~`,
/// `<url|label>` → `[label](url)`, mentions kept, Slack's `&amp;` `&lt;` `&gt;` undone; code
/// spans and blocks untouched, except that a block's first line moves below its fence (on
/// Discord the fence's first word is a language).
pub fn discord_markdown(slack: &str) -> String {
    let mut out = String::with_capacity(slack.len() + 16);
    let mut rest = slack;
    let mut in_block = false;
    let mut in_span = false;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("```") {
            if in_block {
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str("```");
            } else {
                out.push_str("```");
                if !rest[3..].starts_with('\n') {
                    out.push('\n');
                }
            }
            in_block = !in_block;
            rest = &rest[3..];
            continue;
        }
        if in_block {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        match c {
            '`' => {
                in_span = !in_span;
                out.push(c);
            }
            '*' if !in_span => out.push_str("**"),
            '~' if !in_span => out.push_str("~~"),
            '<' if !in_span => {
                if let Some(end) = rest.find('>') {
                    out.push_str(&link(&rest[1..end]));
                    rest = &rest[end + 1..];
                    continue;
                }
                out.push(c);
            }
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// One `<...>` of mrkdwn: a mention stays as it is (Discord writes user mentions the same
/// way), a link becomes a markdown link.
fn link(inner: &str) -> String {
    if inner.starts_with('@') || inner.starts_with('#') {
        return format!("<{inner}>");
    }
    if let Some(special) = inner.strip_prefix('!') {
        // `<!channel>` and friends: Discord's own are never pinged (allowed_mentions).
        return format!("@{}", special.split('|').next().unwrap_or(special));
    }
    match inner.split_once('|') {
        Some((url, label)) => format!("[{label}]({url})"),
        None => inner.to_owned(),
    }
}

/// Cuts `content` into parts of at most `limit` characters, at line ends where it can. A code
/// block open at a cut is closed there and reopened in the next part.
pub fn split_content(content: &str, limit: usize) -> Vec<String> {
    const FENCE: &str = "```";
    if content.chars().count() <= limit {
        return vec![content.to_owned()];
    }
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut in_block = false;
    let len = |s: &str| s.chars().count();
    for line in pieces(content, limit - 2 * (FENCE.len() + 1)) {
        // Room for this line plus the fence that closes the block open after it.
        let toggles = line.matches(FENCE).count() % 2 == 1;
        let closing = if in_block != toggles {
            FENCE.len() + 1
        } else {
            0
        };
        let separator = usize::from(!part.is_empty());
        if !part.is_empty() && len(&part) + separator + len(&line) + closing > limit {
            if in_block {
                part.push('\n');
                part.push_str(FENCE);
            }
            parts.push(std::mem::take(&mut part));
            if in_block {
                part.push_str(FENCE);
            }
        }
        if !part.is_empty() {
            part.push('\n');
        }
        part.push_str(&line);
        in_block ^= toggles;
    }
    parts.push(part);
    parts
}

/// The lines of `content`, each cut into pieces of at most `width` characters.
fn pieces(content: &str, width: usize) -> Vec<String> {
    content
        .split('\n')
        .flat_map(|line| {
            let chars: Vec<char> = line.chars().collect();
            if chars.is_empty() {
                return vec![String::new()];
            }
            chars
                .chunks(width)
                .map(|chunk| chunk.iter().collect())
                .collect()
        })
        .collect()
}

/// An embed cut to Discord's limits: over-long text ends in `…`, fields past 25 are dropped,
/// and the fields that would take the embed past 6,000 characters are left out.
pub fn fit_embed(embed: &Value) -> Value {
    let mut fitted = embed.clone();
    let mut total = 0;
    for (path, limit) in [("title", EMBED_TITLE), ("description", EMBED_DESCRIPTION)] {
        if let Some(text) = embed[path].as_str() {
            let cut = truncate(text, limit);
            total += cut.chars().count();
            fitted[path] = Value::String(cut);
        }
    }
    if let Some(text) = embed["footer"]["text"].as_str() {
        let cut = truncate(text, EMBED_FOOTER);
        total += cut.chars().count();
        fitted["footer"]["text"] = Value::String(cut);
    }
    if let Some(fields) = embed["fields"].as_array() {
        let mut kept = Vec::new();
        for field in fields.iter().take(EMBED_FIELDS) {
            let name = truncate(field["name"].as_str().unwrap_or_default(), EMBED_FIELD_NAME);
            let value = truncate(
                field["value"].as_str().unwrap_or_default(),
                EMBED_FIELD_VALUE,
            );
            let size = name.chars().count() + value.chars().count();
            if total + size > EMBED_TOTAL {
                break;
            }
            total += size;
            let mut field = field.clone();
            field["name"] = Value::String(name);
            field["value"] = Value::String(value);
            kept.push(field);
        }
        fitted["fields"] = Value::Array(kept);
    }
    fitted
}

fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 1).collect();
    cut.push('…');
    cut
}

/// Fails the test, naming the limit, if Discord would refuse `message`.
#[cfg(test)]
pub(crate) fn assert_within_discord_limits(message: &DiscordMessage) {
    let chars = |value: &Value| value.as_str().map_or(0, |text| text.chars().count());
    assert!(
        message.content.chars().count() <= CONTENT_LIMIT,
        "content: {}",
        message.content
    );
    assert!(
        message.embeds.len() <= EMBEDS,
        "{} embeds",
        message.embeds.len()
    );
    let mut total = 0;
    for embed in &message.embeds {
        assert!(chars(&embed["title"]) <= EMBED_TITLE, "{embed}");
        assert!(chars(&embed["description"]) <= EMBED_DESCRIPTION, "{embed}");
        assert!(chars(&embed["footer"]["text"]) <= EMBED_FOOTER, "{embed}");
        let fields = embed["fields"].as_array().map_or(&[][..], Vec::as_slice);
        assert!(fields.len() <= EMBED_FIELDS, "{embed}");
        for field in fields {
            assert!(chars(&field["name"]) <= EMBED_FIELD_NAME, "{field}");
            assert!(chars(&field["value"]) <= EMBED_FIELD_VALUE, "{field}");
            total += chars(&field["name"]) + chars(&field["value"]);
        }
        total += chars(&embed["title"]) + chars(&embed["description"]);
        total += chars(&embed["footer"]["text"]);
    }
    assert!(total <= EMBED_TOTAL, "embeds hold {total} characters");
    assert!(
        message.components.len() <= ROWS,
        "{} rows",
        message.components.len()
    );
    for row in &message.components {
        let buttons = row["components"].as_array().map_or(&[][..], Vec::as_slice);
        assert!(buttons.len() <= BUTTONS_PER_ROW, "{row}");
        for button in buttons {
            assert!(chars(&button["custom_id"]) <= CUSTOM_ID_LIMIT, "{button}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest value a button signs: a 10-character kind (`terminate:`, `idle-keep:`,
    /// `hibernate:`) and a workspace name of [`crate::command::NAME_MAX_LEN`]; request ids
    /// (32 hex) with their kind are shorter.
    const LONGEST_VALUE: usize = 10 + crate::command::NAME_MAX_LEN;

    #[test]
    fn every_button_fits_discord_and_reads_back_as_its_action() {
        let key = crate::token::TokenKey::new(vec![9; 32]).unwrap();
        let value = "x".repeat(LONGEST_VALUE);
        let signed = crate::token::sign_button_value(&key, &value);
        for (action_id, _) in ACTION_CODES {
            let custom_id = discord_custom_id(action_id, &signed);
            assert!(
                custom_id.chars().count() <= CUSTOM_ID_LIMIT,
                "{action_id}: {} characters",
                custom_id.chars().count()
            );
            let action = action_from_custom_id(&custom_id, None).expect(action_id);
            let back = Action::from_button(action_id, &signed, None).unwrap();
            assert_eq!(action, back, "{action_id}");
        }
        // A button posted before the codes still reads as its action.
        let old = format!("confirm_terminate:{signed}");
        assert!(matches!(
            action_from_custom_id(&old, None),
            Some(Action::ConfirmTerminate { .. })
        ));
    }

    #[test]
    fn mrkdwn_becomes_discord_markdown() {
        let cases = [
            ("✅ *mit-dev* is running", "✅ **mit-dev** is running"),
            ("~old~ new", "~~old~~ new"),
            ("<@U0SMITH> asks", "<@U0SMITH> asks"),
            (
                "<https://example.com/x?a=1&amp;b=2|the statement>",
                "[the statement](https://example.com/x?a=1&b=2)",
            ),
            ("<https://example.com>", "https://example.com"),
            ("a &lt;b&gt; &amp; c", "a <b> & c"),
            ("`*not bold*`", "`*not bold*`"),
            ("```User    Cost\na *b*```", "```\nUser    Cost\na *b*\n```"),
            ("<!channel> look", "@channel look"),
        ];
        for (slack, discord) in cases {
            assert_eq!(discord_markdown(slack), discord, "{slack}");
        }
    }

    #[test]
    fn short_content_is_one_part() {
        assert_eq!(split_content("hello", 2_000), vec!["hello".to_owned()]);
    }

    #[test]
    fn long_content_is_cut_at_line_ends_within_the_limit() {
        let content: Vec<String> = (0..400).map(|n| format!("line {n:03} of text")).collect();
        let content = content.join("\n");
        let parts = split_content(&content, 2_000);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(part.chars().count() <= 2_000, "{}", part.len());
        }
        assert_eq!(parts.join("\n"), content, "nothing lost or added");
    }

    #[test]
    fn a_code_block_cut_in_two_is_closed_and_reopened() {
        let rows: Vec<String> = (0..300)
            .map(|n| format!("user-{n:03}                 mit          $1.00"))
            .collect();
        let content = format!("*By collaborator:*\n```\n{}\n```\ndone", rows.join("\n"));
        let parts = split_content(&content, 2_000);
        assert!(parts.len() > 2);
        for part in &parts {
            assert!(part.chars().count() <= 2_000);
            assert_eq!(part.matches("```").count() % 2, 0, "balanced: {part}");
        }
        assert!(parts.last().unwrap().ends_with("done"));
    }

    #[test]
    fn a_block_opening_at_the_limit_still_has_room_to_close() {
        for filler in 1_980..2_000 {
            let content = format!("{}\n```\nrow\n```", "x".repeat(filler));
            for part in split_content(&content, 2_000) {
                assert!(part.chars().count() <= 2_000, "{filler}: {}", part.len());
                assert_eq!(part.matches("```").count() % 2, 0, "{filler}");
            }
        }
    }

    #[test]
    fn a_line_longer_than_a_message_is_cut_too() {
        let content = "x".repeat(4_500);
        let parts = split_content(&content, 2_000);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.chars().count() <= 2_000));
        assert_eq!(parts.concat(), content);
    }

    #[test]
    fn buttons_become_components_whose_ids_name_the_action() {
        let message = ChatMessage {
            text: "ask".into(),
            blocks: vec![
                json!({ "type": "section", "text": { "type": "mrkdwn", "text": "🙋 *ask*" } }),
                json!({ "type": "input", "block_id": "cws_reason", "label": { "type": "plain_text", "text": "Reason" }, "element": { "type": "plain_text_input", "action_id": "cws_exception_reason" } }),
                json!({ "type": "actions", "elements": [
                    { "type": "button", "text": { "type": "plain_text", "text": "Approve" }, "style": "primary", "action_id": "cws_approve_exception", "value": "exc-0123456789abcdef.0123456789012345678901234567890123456789012" },
                    { "type": "button", "text": { "type": "plain_text", "text": "Deny" }, "style": "danger", "action_id": "cws_deny_exception", "value": "exc-0123456789abcdef.0123456789012345678901234567890123456789012" }
                ] }),
            ],
            discord: None,
        };
        let parts = discord_messages(&message);
        assert_eq!(parts.len(), 1);
        insta::assert_json_snapshot!(parts[0], @r#"
        {
          "content": "🙋 **ask**",
          "components": [
            {
              "components": [
                {
                  "custom_id": "ae:exc-0123456789abcdef.0123456789012345678901234567890123456789012",
                  "label": "Approve",
                  "style": 1,
                  "type": 2
                },
                {
                  "custom_id": "de:exc-0123456789abcdef.0123456789012345678901234567890123456789012",
                  "label": "Deny",
                  "style": 4,
                  "type": 2
                }
              ],
              "type": 1
            }
          ],
          "allowed_mentions": {
            "parse": [
              "users"
            ]
          }
        }
        "#);
        let custom_id = parts[0].components[0]["components"][0]["custom_id"]
            .as_str()
            .unwrap();
        let action = action_from_custom_id(custom_id, Some(" Grant deadline ")).unwrap();
        assert_eq!(
            action,
            Action::ApproveException {
                signed: "exc-0123456789abcdef.0123456789012345678901234567890123456789012".into(),
                reason: Some("Grant deadline".into())
            }
        );
        assert!(asks_for_reason(&action));
        let modal = exception_reason_modal(custom_id, &action);
        assert_eq!(modal["custom_id"], custom_id);
        assert_eq!(modal["title"], "Approve the exception");
        let input = &modal["components"][0]["components"][0];
        assert_eq!(input["custom_id"], Action::REASON_INPUT);
        assert!(input["label"].as_str().unwrap().chars().count() <= 45);
    }

    #[test]
    fn a_button_too_long_for_discord_is_left_out_and_said_so() {
        let message = ChatMessage {
            text: "t".into(),
            blocks: vec![json!({ "type": "actions", "elements": [
                { "type": "button", "text": { "type": "plain_text", "text": "Terminate" }, "action_id": "cws_confirm_terminate", "value": "x".repeat(120) }
            ] })],
            discord: None,
        };
        let parts = discord_messages(&message);
        assert!(parts[0].components.is_empty());
        assert!(parts[0].content.contains("does not fit"));
    }

    #[test]
    fn unknown_custom_ids_are_no_action() {
        assert_eq!(action_from_custom_id("nonsense", None), None);
        assert_eq!(action_from_custom_id("launch_rockets:x", None), None);
    }

    #[test]
    fn embeds_are_cut_to_discords_limits() {
        let fields: Vec<Value> = (0..40)
            .map(|n| json!({ "name": format!("field {n}"), "value": "v".repeat(1_500) }))
            .collect();
        let embed = json!({ "title": "t".repeat(300), "description": "d", "fields": fields });
        let fitted = fit_embed(&embed);
        assert_eq!(fitted["title"].as_str().unwrap().chars().count(), 256);
        let kept = fitted["fields"].as_array().unwrap();
        assert!(kept.len() <= 25);
        let total: usize = kept
            .iter()
            .map(|f| {
                f["name"].as_str().unwrap().chars().count()
                    + f["value"].as_str().unwrap().chars().count()
            })
            .sum::<usize>()
            + 257;
        assert!(total <= 6_000, "{total}");
        assert!(
            kept.iter()
                .all(|f| f["value"].as_str().unwrap().chars().count() <= 1_024)
        );
    }
}
