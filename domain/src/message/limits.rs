//! Slack's Block Kit limits, kept here so that no adapter can send a message Slack refuses
//! (`invalid_blocks`, `msg_too_long`), however long a consortium's lists grow. A message is
//! rendered once from its template; [`fit_to_slack`] then cuts it to size: a long section
//! becomes several (cut at line ends, code blocks closed and reopened across the cut), and
//! labels too long for a header or a button end in `…`. A reply longer than one message
//! serves well goes as a file with a summary ([`slack_reply`]). Discord's limits are kept in
//! [`super::discord`].

use serde_json::{Value, json};

use super::ChatMessage;
use super::discord::split_content;

/// Blocks in one message (<https://docs.slack.dev/reference/block-kit/blocks>).
pub const MESSAGE_BLOCKS: usize = 50;
/// Characters of a section's text (<https://docs.slack.dev/reference/block-kit/blocks/section-block>);
/// context elements share the limit of every text object.
pub const SECTION_TEXT: usize = 3_000;
/// Fields of one section, and characters of each (same page).
pub const SECTION_FIELDS: usize = 10;
pub const FIELD_TEXT: usize = 2_000;
/// Characters of a header's text (<https://docs.slack.dev/reference/block-kit/blocks/header-block>).
pub const HEADER_TEXT: usize = 150;
/// A button's label, value and action id
/// (<https://docs.slack.dev/reference/block-kit/block-elements/button-element>). Values and
/// action ids are signed tokens and names from code, far shorter; only labels carry user text.
pub const BUTTON_TEXT: usize = 75;
pub const BUTTON_VALUE: usize = 2_000;
pub const ACTION_ID: usize = 255;
/// Elements of a context block (<https://docs.slack.dev/reference/block-kit/blocks/context-block>).
pub const CONTEXT_ELEMENTS: usize = 10;
/// Characters of a message's `text`: longer is `msg_too_long`
/// (<https://docs.slack.dev/reference/methods/chat.postMessage>).
pub const MESSAGE_TEXT: usize = 40_000;

/// Characters of text past which a reply goes as a file: four full sections, some 150 lines
/// of a list. Longer, a message is a wall people scroll past; a file can be searched, kept
/// and opened in a spreadsheet or an editor.
pub const FILE_THRESHOLD_CHARS: usize = 12_000;
/// The summary posted with a file: its first blocks, at most this many and (past the first,
/// which is always shown) this many characters: one screen.
pub const SUMMARY_BLOCKS: usize = 10;
pub const SUMMARY_CHARS: usize = SECTION_TEXT;

/// A reply as Slack gets it.
#[derive(Debug, Clone, PartialEq)]
pub enum SlackReply {
    /// Fits one message within the limits and [`FILE_THRESHOLD_CHARS`].
    Message(ChatMessage),
    /// Longer: its first blocks and a line naming the file, which holds all of it.
    WithFile {
        summary: ChatMessage,
        file: TextFile,
    },
}

/// A plain-text file to upload.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFile {
    /// `cws-<first words>.txt`.
    pub name: String,
    /// The reply's first line, as Slack shows it above the file.
    pub title: String,
    pub content: String,
}

/// Where a reply's file is shared, which its summary tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileShared {
    /// In the conversation the reply goes to: a channel post or a direct message.
    InConversation,
    /// In the requester's direct messages: the reply is ephemeral, and a file shared in the
    /// channel would show it to everyone there.
    InDirectMessage,
}

/// The one Slack message that carries `message`: its blocks cut to Slack's limits, and past
/// 50 blocks a last line saying how many lines were left out (for the bot's immediate answer,
/// which cannot carry a file; replies go through [`slack_reply`]).
pub fn fit_to_slack(message: &ChatMessage) -> ChatMessage {
    let mut blocks = fitted_blocks(message);
    if blocks.len() > MESSAGE_BLOCKS {
        let left_out: usize = blocks[MESSAGE_BLOCKS - 1..].iter().map(lines_of).sum();
        blocks.truncate(MESSAGE_BLOCKS - 1);
        blocks.extend(super::render("not_shown", &json!({ "lines": left_out })).blocks);
    }
    ChatMessage {
        text: truncate(&message.text, MESSAGE_TEXT),
        blocks,
        discord: None,
    }
}

/// `message` as one Slack message when it fits one and its text is within
/// [`FILE_THRESHOLD_CHARS`]; else a summary (its first blocks, at most [`SUMMARY_BLOCKS`] and
/// about [`SUMMARY_CHARS`], and a line naming the file, which says whether it is in the
/// requester's direct messages) and a text file with all of it.
pub fn slack_reply(message: &ChatMessage, shared: FileShared) -> SlackReply {
    let blocks = fitted_blocks(message);
    let content = file_content(message);
    if blocks.len() <= MESSAGE_BLOCKS && content.chars().count() <= FILE_THRESHOLD_CHARS {
        return SlackReply::Message(fit_to_slack(message));
    }
    let first_line = content.lines().find(|line| !line.trim().is_empty());
    let file = TextFile {
        name: file_name(first_line.unwrap_or_default()),
        title: truncate(
            first_line
                .unwrap_or_default()
                .replace(['*', '`'], "")
                .trim(),
            HEADER_TEXT,
        ),
        content,
    };
    let note = super::render(
        "in_file",
        &json!({
            "lines": file.content.lines().count(),
            "name": file.name,
            "direct": shared == FileShared::InDirectMessage,
        }),
    );
    let mut shown = Vec::new();
    let mut chars = 0;
    for block in blocks {
        let size = chars_of(&block);
        if shown.len() == SUMMARY_BLOCKS || (!shown.is_empty() && chars + size > SUMMARY_CHARS) {
            break;
        }
        chars += size;
        shown.push(block);
    }
    shown.extend(note.blocks);
    let summary = ChatMessage {
        text: format!("{}\n{}", truncate(&message.text, SUMMARY_CHARS), note.text),
        blocks: shown,
        discord: None,
    };
    SlackReply::WithFile { summary, file }
}

/// Every block of `message` cut to Slack's limits, however many.
fn fitted_blocks(message: &ChatMessage) -> Vec<Value> {
    message.blocks.iter().flat_map(fit_block).collect()
}

/// The text of every block (headers, sections and their fields, context lines), one after
/// the other with their lines as written, and mrkdwn's escapes undone: a text file shows
/// `&amp;` as it is. A message without blocks is its `text`.
fn file_content(message: &ChatMessage) -> String {
    if message.blocks.is_empty() {
        return format!("{}\n", message.text);
    }
    let mut content = String::new();
    for block in &message.blocks {
        let texts = [&block["text"]["text"]]
            .into_iter()
            .chain(
                block["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| &f["text"]),
            )
            .chain(
                block["elements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| &e["text"]),
            );
        for text in texts.filter_map(Value::as_str) {
            let plain = text
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            content.push_str(&plain);
            content.push('\n');
        }
    }
    content
}

/// `cws-` and the first words of `line`, lower case, as a file name anyone can type and a
/// line can show.
fn file_name(line: &str) -> String {
    const WORDS: usize = 6;
    const CHARS: usize = 48;
    let words: Vec<String> = line
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(WORDS)
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        return "cws-reply.txt".to_owned();
    }
    let mut slug = words.join("-");
    slug.truncate(CHARS);
    format!("cws-{}.txt", slug.trim_end_matches('-'))
}

/// One block as the blocks that fit Slack's limits: usually itself.
fn fit_block(block: &Value) -> Vec<Value> {
    match block["type"].as_str().unwrap_or_default() {
        "section" => fit_section(block),
        "header" => {
            let mut header = block.clone();
            cap(&mut header["text"]["text"], HEADER_TEXT);
            vec![header]
        }
        "actions" => {
            let mut actions = block.clone();
            for element in actions["elements"].as_array_mut().into_iter().flatten() {
                if element["type"] == "button" {
                    cap(&mut element["text"]["text"], BUTTON_TEXT);
                }
            }
            vec![actions]
        }
        "context" => {
            let mut context = block.clone();
            if let Some(elements) = context["elements"].as_array_mut() {
                elements.truncate(CONTEXT_ELEMENTS);
                for element in elements {
                    cap(&mut element["text"], SECTION_TEXT);
                }
            }
            vec![context]
        }
        _ => vec![block.clone()],
    }
}

/// A section whose text is too long becomes several, cut at line ends; fields past ten go to
/// further sections. The first keeps the accessory and `block_id` (which must stay unique).
fn fit_section(block: &Value) -> Vec<Value> {
    let mut first = block.clone();
    let mut more = Vec::new();
    if let Some(text) = block["text"]["text"].as_str()
        && text.chars().count() > SECTION_TEXT
    {
        let mut pieces = split_content(text, SECTION_TEXT).into_iter();
        first["text"]["text"] = Value::String(pieces.next().unwrap_or_default());
        more.extend(pieces.map(|piece| {
            json!({ "type": "section", "text": { "type": block["text"]["type"], "text": piece } })
        }));
    }
    if let Some(fields) = block["fields"].as_array() {
        let fields: Vec<Value> = fields
            .iter()
            .map(|field| {
                let mut field = field.clone();
                cap(&mut field["text"], FIELD_TEXT);
                field
            })
            .collect();
        let mut groups = fields.chunks(SECTION_FIELDS);
        first["fields"] = Value::Array(groups.next().unwrap_or_default().to_vec());
        more.extend(groups.map(|group| json!({ "type": "section", "fields": group })));
    }
    let mut sections = vec![first];
    sections.extend(more);
    sections
}

/// The lines a block shows, to say how many were left out.
fn lines_of(block: &Value) -> usize {
    let text_lines = block["text"]["text"]
        .as_str()
        .map_or(0, |t| t.lines().count());
    let fields = block["fields"].as_array().map_or(0, Vec::len);
    text_lines + fields
}

/// The characters a block shows, to keep a summary to one screen.
fn chars_of(block: &Value) -> usize {
    let chars = |text: &Value| text.as_str().map_or(0, |t| t.chars().count());
    let fields: usize = block["fields"]
        .as_array()
        .map_or(0, |fields| fields.iter().map(|f| chars(&f["text"])).sum());
    chars(&block["text"]["text"]) + fields
}

fn cap(text: &mut Value, limit: usize) {
    if let Some(long) = text.as_str()
        && long.chars().count() > limit
    {
        *text = Value::String(truncate(long, limit));
    }
}

fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 1).collect();
    cut.push('…');
    cut
}

/// Fails the test, naming the limit, if Slack would refuse `message`.
#[cfg(test)]
pub(crate) fn assert_within_slack_limits(message: &ChatMessage) {
    let chars = |value: &Value| value.as_str().map_or(0, |text| text.chars().count());
    assert!(
        chars(&json!(message.text)) <= MESSAGE_TEXT,
        "text: {}",
        message.text.len()
    );
    assert!(
        message.blocks.len() <= MESSAGE_BLOCKS,
        "{} blocks",
        message.blocks.len()
    );
    for block in &message.blocks {
        match block["type"].as_str().unwrap_or_default() {
            "section" => {
                assert!(
                    chars(&block["text"]["text"]) <= SECTION_TEXT,
                    "section text: {block}"
                );
                let fields = block["fields"].as_array().map_or(&[][..], Vec::as_slice);
                assert!(fields.len() <= SECTION_FIELDS, "{} fields", fields.len());
                for field in fields {
                    assert!(chars(&field["text"]) <= FIELD_TEXT, "field: {field}");
                }
            }
            "header" => assert!(chars(&block["text"]["text"]) <= HEADER_TEXT, "{block}"),
            "context" => {
                let elements = block["elements"].as_array().map_or(&[][..], Vec::as_slice);
                assert!(elements.len() <= CONTEXT_ELEMENTS, "{block}");
                for element in elements {
                    assert!(chars(&element["text"]) <= SECTION_TEXT, "{element}");
                }
            }
            "actions" => {
                for element in block["elements"].as_array().into_iter().flatten() {
                    assert!(chars(&element["text"]["text"]) <= BUTTON_TEXT, "{element}");
                    assert!(chars(&element["value"]) <= BUTTON_VALUE, "{element}");
                    assert!(chars(&element["action_id"]) <= ACTION_ID, "{element}");
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use time::macros::{date, datetime};

    use super::*;
    use crate::audit::chain::Link;
    use crate::audit::report::{Entry, Person, compliance_report};
    use crate::audit::{AuditAction, AuditEvent};
    use crate::command::{Command, ProfilesCommand, parse};
    use crate::identity::{ChatIdentity, Role};
    use crate::invitation::{Invitation, NewInvitation};
    use crate::ledger::{LedgerEvent, LedgerEventKind, cost_report};
    use crate::message::discord::{assert_within_discord_limits, discord_messages};
    use crate::message::{self as messages, CreatedFromRow};
    use crate::pricing::Money;
    use crate::token::InvitationId;

    const COLLABORATORS: usize = 500;
    const WORKSPACES: usize = 300;
    const AUDIT_EVENTS: usize = 10_000;

    fn section(text: &str) -> Value {
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
    }

    fn message(blocks: Vec<Value>) -> ChatMessage {
        ChatMessage {
            text: "fallback".into(),
            blocks,
            discord: None,
        }
    }

    /// The reply within Slack's limits (its summary at most one screen and a line), and its
    /// Discord form within Discord's; the text that reaches Slack, whole.
    fn assert_fits_both(message: &ChatMessage) -> String {
        discord_messages(message)
            .iter()
            .for_each(assert_within_discord_limits);
        match slack_reply(message, FileShared::InDirectMessage) {
            SlackReply::Message(message) => {
                assert_within_slack_limits(&message);
                section_text(&message)
            }
            SlackReply::WithFile { summary, file } => {
                assert_within_slack_limits(&summary);
                assert!(summary.blocks.len() <= SUMMARY_BLOCKS + 1, "one screen");
                file.content
            }
        }
    }

    fn section_text(message: &ChatMessage) -> String {
        let texts: Vec<&str> = message
            .blocks
            .iter()
            .filter_map(|block| block["text"]["text"].as_str())
            .collect();
        texts.join("\n")
    }

    fn file_of(reply: SlackReply) -> (ChatMessage, TextFile) {
        match reply {
            SlackReply::WithFile { summary, file } => (summary, file),
            SlackReply::Message(message) => panic!("one message: {message:?}"),
        }
    }

    #[test]
    fn a_message_within_the_limits_is_sent_as_it_is() {
        let small = message(vec![section("hello")]);
        assert_eq!(fit_to_slack(&small), small);
        assert_eq!(
            slack_reply(&small, FileShared::InConversation),
            SlackReply::Message(small)
        );
    }

    #[test]
    fn a_long_section_is_cut_at_line_ends_into_sections_that_keep_every_line() {
        let lines: Vec<String> = (0..600)
            .map(|n| format!("• *row {n:03}* · detail"))
            .collect();
        let text = lines.join("\n");
        let fitted = fit_to_slack(&message(vec![section(&text)]));
        assert!(fitted.blocks.len() > 1);
        assert_within_slack_limits(&fitted);
        assert_eq!(section_text(&fitted), text, "nothing lost or added");
        assert_eq!(fitted.text, "fallback");
    }

    #[test]
    fn what_one_message_cannot_hold_is_counted_in_its_last_line() {
        let blocks: Vec<Value> = (0..120).map(|n| section(&format!("block {n}"))).collect();
        let fitted = fit_to_slack(&message(blocks));
        assert_eq!(fitted.blocks.len(), MESSAGE_BLOCKS);
        let last = &fitted.blocks[MESSAGE_BLOCKS - 1];
        assert_eq!(last["type"], "context");
        insta::assert_snapshot!(last["elements"][0]["text"], @r#""… and 71 more lines, too many for one reply in chat.""#);
    }

    #[test]
    fn a_reply_of_more_than_one_message_goes_as_a_file_with_every_line() {
        let blocks: Vec<Value> = (0..120).map(|n| section(&format!("block {n}"))).collect();
        let (summary, file) = file_of(slack_reply(&message(blocks), FileShared::InConversation));
        assert_within_slack_limits(&summary);
        assert_eq!(summary.blocks.len(), SUMMARY_BLOCKS + 1);
        let lines: Vec<&str> = file.content.lines().collect();
        assert_eq!(lines.len(), 120);
        assert_eq!((lines[0], lines[119]), ("block 0", "block 119"));
        assert_eq!(file.name, "cws-block-0.txt");
        assert_eq!(file.title, "block 0");
        let long = message(vec![section(&"x".repeat(FILE_THRESHOLD_CHARS))]);
        let (_, file) = file_of(slack_reply(&long, FileShared::InConversation));
        assert_eq!(file.name, format!("cws-{}.txt", "x".repeat(48)));
    }

    #[test]
    fn a_reply_past_the_threshold_in_characters_goes_as_a_file() {
        // One section: the file has its text and a final newline.
        let at = message(vec![section(&"x".repeat(FILE_THRESHOLD_CHARS - 1))]);
        assert!(matches!(
            slack_reply(&at, FileShared::InConversation),
            SlackReply::Message(_)
        ));
        let past = message(vec![section(&"x".repeat(FILE_THRESHOLD_CHARS))]);
        let (summary, file) = file_of(slack_reply(&past, FileShared::InConversation));
        assert_within_slack_limits(&summary);
        assert_eq!(file.content.chars().count(), FILE_THRESHOLD_CHARS + 1);
        // The first block is always shown, cut to a section's limit.
        assert!(
            summary.blocks[0]["text"]["text"]
                .as_str()
                .unwrap()
                .starts_with("xxx")
        );
    }

    #[test]
    fn the_file_has_every_text_as_written_without_slack_escapes() {
        let mut blocks = vec![
            json!({ "type": "header", "text": { "type": "plain_text", "text": "Costs & <shares>" } }),
            json!({ "type": "section", "fields": [
                { "type": "mrkdwn", "text": "*Institute A*\n$1.00" },
                { "type": "mrkdwn", "text": "*Institute B*\n$2.00" }
            ] }),
            json!({ "type": "actions", "elements": [
                { "type": "button", "text": { "type": "plain_text", "text": "Stop" }, "action_id": "cws_stop", "value": "v" }
            ] }),
            json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": "R &amp; D &lt;lab&gt;" }] }),
        ];
        blocks.extend((0..60).map(|n| section(&format!("row {n}"))));
        let (_, file) = file_of(slack_reply(&message(blocks), FileShared::InConversation));
        let lines: Vec<&str> = file.content.lines().take(6).collect();
        assert_eq!(
            lines,
            [
                "Costs & <shares>",
                "*Institute A*",
                "$1.00",
                "*Institute B*",
                "$2.00",
                "R & D <lab>"
            ]
        );
        assert_eq!(file.name, "cws-costs-shares.txt");
    }

    #[test]
    fn an_ephemeral_reply_says_its_file_is_in_a_direct_message() {
        let lines: Vec<String> = (0..500)
            .map(|n| format!("• *institute-{n:03}-collaboration* · read_write · active"))
            .collect();
        let list = message(vec![section(&format!(
            "*Invitations of project nih-neuro-consortium*\n{}",
            lines.join("\n")
        ))]);
        let (summary, file) = file_of(slack_reply(&list, FileShared::InDirectMessage));
        assert_within_slack_limits(&summary);
        assert_eq!(
            file.name,
            "cws-invitations-of-project-nih-neuro-consortium.txt"
        );
        assert_eq!(file.title, "Invitations of project nih-neuro-consortium");
        assert_eq!(file.content.lines().count(), 501);
        assert!(
            summary.text.ends_with("sent to you in a direct message."),
            "{}",
            summary.text
        );
        insta::assert_json_snapshot!(summary);
        let (in_channel, _) = file_of(slack_reply(&list, FileShared::InConversation));
        assert!(
            !in_channel.text.contains("direct message"),
            "{}",
            in_channel.text
        );
    }

    #[test]
    fn labels_are_capped_and_fields_spread_over_sections() {
        let fields: Vec<Value> = (0..23)
            .map(|n| json!({ "type": "mrkdwn", "text": format!("*F{n}*\n{}", "v".repeat(2_500)) }))
            .collect();
        let blocks = vec![
            json!({ "type": "header", "text": { "type": "plain_text", "text": "h".repeat(200) } }),
            json!({ "type": "section", "block_id": "summary", "text": { "type": "mrkdwn", "text": "fields" }, "fields": fields }),
            json!({ "type": "actions", "elements": [
                { "type": "button", "text": { "type": "plain_text", "text": "b".repeat(90) }, "action_id": "cws_go", "value": "signed" }
            ] }),
        ];
        let fitted = fit_to_slack(&message(blocks));
        assert_within_slack_limits(&fitted);
        let blocks = &fitted.blocks;
        let field_counts: Vec<usize> = blocks
            .iter()
            .filter_map(|block| block["fields"].as_array().map(Vec::len))
            .collect();
        assert_eq!(field_counts, [10, 10, 3]);
        assert_eq!(
            blocks
                .iter()
                .filter(|block| block["block_id"] == "summary")
                .count(),
            1,
            "block ids stay unique"
        );
        assert!(blocks[0]["text"]["text"].as_str().unwrap().ends_with('…'));
    }

    fn invitations() -> Vec<Invitation> {
        (0..COLLABORATORS)
            .map(|n| {
                let line = format!(
                    "profiles invitations create institute-{n:03}-collaboration --type read_write --valid-days 540 --template-whitelist \"R Research\""
                );
                let Ok(Command::Profiles(ProfilesCommand::InvitationCreate(create))) =
                    parse(&line)
                else {
                    panic!("{line} parses")
                };
                let mut invitation = Invitation::create(
                    &create,
                    NewInvitation {
                        id: InvitationId::from_bytes([n as u8; 16]),
                        project: "nih-neuro-consortium".into(),
                        created_by: ChatIdentity::slack("T1", "USMITH"),
                        now: datetime!(2026-01-01 00:00 UTC),
                    },
                );
                invitation.invitee = Some(format!("Dr. Collaborator {n:03}"));
                invitation.institution = Some(format!("Institute {n:03}"));
                invitation
            })
            .collect()
    }

    fn audit_entries() -> Vec<Entry> {
        let mut links: Vec<Link> = Vec::new();
        for n in 0..AUDIT_EVENTS {
            let event = AuditEvent {
                action: if n % 3 == 0 {
                    AuditAction::ProfileSwitch
                } else {
                    AuditAction::Launch
                },
                who: ChatIdentity::slack("T1", &format!("U{:03}", n % COLLABORATORS)),
                institution: format!("institute-{:03}", n % COLLABORATORS),
                resource: format!("workspace-{n}"),
                outcome: "launched".into(),
                detail: None,
                at: datetime!(2026-01-15 09:00 UTC) + time::Duration::minutes(n as i64),
            };
            links.push(Link::after(links.last().map(Link::head).as_ref(), &event));
        }
        links
            .into_iter()
            .map(|link| Entry {
                seq: link.seq,
                event: link.audit_event().unwrap(),
                hash: link.hash,
            })
            .collect()
    }

    fn ledger() -> Vec<LedgerEvent> {
        (0..WORKSPACES)
            .map(|n| LedgerEvent {
                at: datetime!(2026-06-10 00:00 UTC),
                kind: LedgerEventKind::Launched,
                workspace: format!("workspace-{n:03}"),
                instance_id: format!("i-{n:017}"),
                instance_type: "t3.large".into(),
                region: "us-east-1".into(),
                hourly: Money::from_micros(83_200),
                storage_gb: 30,
                project: "nih-neuro-consortium".into(),
                user: format!("collaborator_{:03}", n % COLLABORATORS),
                institution: format!("institute-{:03}", n % COLLABORATORS),
                storage_rate: None,
            })
            .collect()
    }

    /// A consortium of 500 collaborators, 300 workspaces and 10,000 audit events: every
    /// message that lists them reaches Slack and Discord within their limits, whole.
    #[test]
    fn every_list_of_a_large_consortium_fits_both_platforms() {
        let now = datetime!(2026-06-15 00:00 UTC);
        let invitations = invitations();
        let created: Vec<CreatedFromRow<'_>> = invitations
            .iter()
            .map(|invitation| CreatedFromRow {
                invitation,
                token: format!("inv-{}.{}", "t".repeat(40), "s".repeat(43)),
                valid_days: 540,
                email: None,
            })
            .collect();
        let tokens = messages::invitations_created(
            "nih-neuro-consortium",
            &created,
            &[],
            &messages::TokensSent::default(),
        );
        let rendered = tokens.blocks[0]["text"]["text"].as_str().unwrap();
        assert!(
            rendered.chars().count() > 10 * SECTION_TEXT,
            "as rendered, past the limit"
        );
        let whole = assert_fits_both(&tokens);
        assert_eq!(whole.matches("inv-").count(), COLLABORATORS);

        let whole = assert_fits_both(&messages::invitation_list(
            "nih-neuro-consortium",
            &invitations,
            now,
        ));
        assert!(whole.contains("institute-499-collaboration"), "whole");

        let workspaces: Vec<_> = (0..WORKSPACES)
            .map(|n| crate::workspace::Workspace {
                name: format!("workspace-{n:03}"),
                ..crate::message::tests::workspace()
            })
            .collect();
        let whole = assert_fits_both(&messages::workspace_list(
            "nih-neuro-consortium",
            &workspaces,
            false,
        ));
        assert!(whole.contains("workspace-299"), "whole");

        let events = ledger();
        let period = (
            datetime!(2026-01-01 00:00 UTC),
            datetime!(2027-06-01 00:00 UTC),
        );
        let report = cost_report(
            &events,
            period,
            Money::from_cents(9_000_000),
            Money::ZERO,
            |_| Money::ZERO,
        );
        assert_fits_both(&messages::project_cost(
            "nih-neuro-consortium",
            "2026-06".parse().unwrap(),
            &report,
            None,
            &BTreeSet::new(),
        ));

        let names: Vec<String> = (0..COLLABORATORS)
            .map(|n| format!("Dr. Collaborator {n:03}"))
            .collect();
        let participants: Vec<messages::Participant<'_>> = invitations
            .iter()
            .zip(&names)
            .map(|(invitation, name)| messages::Participant {
                name,
                institution: invitation.institution.as_deref().unwrap(),
                role: Role::ReadWrite,
                status: "active until June 1, 2027".into(),
            })
            .collect();
        let cleanup: Vec<messages::Cleanup<'_>> = invitations
            .iter()
            .map(|invitation| messages::Cleanup {
                invitation: &invitation.name,
                institution: invitation.institution.as_deref().unwrap(),
                ended: Some(datetime!(2027-06-01 00:00 UTC)),
                steps_done: 6,
                steps: 6,
                snapshots: 2,
            })
            .collect();
        let project = crate::message::digest::tests::project();
        let whole = assert_fits_both(&messages::collaboration_report(
            &messages::CollaborationSummary {
                project: &project,
                final_report: true,
                period,
                months: 18,
                report: &report,
                participants: &participants,
                launched: WORKSPACES,
                snapshots: 600,
                snapshots_transferred: 300,
                violations: 0,
                unauthorized: 1,
                cleanup: &cleanup,
                compliance: &[],
            },
        ));
        assert!(whole.contains("Dr. Collaborator 499"), "whole");

        let entries = audit_entries();
        let people: HashMap<ChatIdentity, Person> = (0..COLLABORATORS)
            .map(|n| {
                (
                    ChatIdentity::slack("T1", &format!("U{n:03}")),
                    Person {
                        name: format!("Dr. Collaborator {n:03}"),
                        invitation: Some(format!("institute-{n:03}-collaboration")),
                        verified_institution: None,
                    },
                )
            })
            .collect();
        let invitation_names: Vec<String> = invitations.iter().map(|i| i.name.clone()).collect();
        let report = compliance_report(
            "nih-neuro-consortium",
            (date!(2026 - 01 - 01), date!(2026 - 06 - 30)),
            &entries,
            &people,
            &invitation_names,
        );
        assert_fits_both(&messages::audit_report(&report, None));
    }
}
