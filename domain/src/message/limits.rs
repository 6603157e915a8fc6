//! Slack's Block Kit limits, kept here so that no adapter can send a message Slack refuses
//! (`invalid_blocks`, `msg_too_long`), however long a consortium's lists grow. A message is
//! rendered once from its template; [`fit_to_slack`] then cuts it to size: a long section
//! becomes several (cut at line ends, code blocks closed and reopened across the cut), more
//! than 50 blocks become several messages, and labels too long for a header or a button end
//! in `…`. Discord's limits are kept in [`super::discord`].

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

/// Messages a reply may take in a channel: past four full messages (some 600,000
/// characters) a list serves nobody in chat, so the rest is counted, not sent.
pub const REPLY_MESSAGES: usize = 4;

/// The Slack messages that carry `message`, at most `most` of them (at least one): one when
/// it fits, else its blocks cut to Slack's limits and spread over several; what does not fit
/// in `most` ends in a line saying how many lines were left out. The first message keeps
/// the `text` fallback; each further one falls back to its own sections' text.
pub fn fit_to_slack(message: &ChatMessage, most: usize) -> Vec<ChatMessage> {
    let most = most.max(1);
    let mut blocks: Vec<Value> = message.blocks.iter().flat_map(fit_block).collect();
    let room = most * MESSAGE_BLOCKS;
    if blocks.len() > room {
        let left_out: usize = blocks[room - 1..].iter().map(lines_of).sum();
        blocks.truncate(room - 1);
        blocks.extend(super::render("not_shown", &json!({ "lines": left_out })).blocks);
    }
    if blocks.is_empty() {
        return vec![ChatMessage {
            text: truncate(&message.text, MESSAGE_TEXT),
            ..message.clone()
        }];
    }
    blocks
        .chunks(MESSAGE_BLOCKS)
        .enumerate()
        .map(|(index, chunk)| {
            let text = if index == 0 {
                message.text.clone()
            } else {
                fallback_text(chunk)
            };
            ChatMessage {
                text: truncate(&text, MESSAGE_TEXT),
                blocks: chunk.to_vec(),
                discord: None,
            }
        })
        .collect()
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
    let text_lines = block["text"]["text"].as_str().map_or(0, |t| t.lines().count());
    let fields = block["fields"].as_array().map_or(0, Vec::len);
    text_lines + fields
}

/// What a continuation message's notification shows: its sections' text.
fn fallback_text(blocks: &[Value]) -> String {
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|block| block["text"]["text"].as_str())
        .collect();
    texts.join("\n")
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
    assert!(chars(&json!(message.text)) <= MESSAGE_TEXT, "text: {}", message.text.len());
    assert!(
        message.blocks.len() <= MESSAGE_BLOCKS,
        "{} blocks",
        message.blocks.len()
    );
    for block in &message.blocks {
        match block["type"].as_str().unwrap_or_default() {
            "section" => {
                assert!(chars(&block["text"]["text"]) <= SECTION_TEXT, "section text: {block}");
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
