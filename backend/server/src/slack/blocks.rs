//! Block Kit as types, with Slack's limits kept by construction: every text is cut to its limit with a
//! marker (`…`) when it is built, and a message never carries more than 50 blocks. A long alert therefore
//! never fails to post with `invalid_blocks` or `msg_too_long`; it posts shortened.
//!
//! Why not `slack-morphism`'s models: with default features off they still bring about a hundred crates
//! (`serde_with`, `jiff`, a second `rand` and `base64`, derive helpers) for the five block kinds used here,
//! and they check no limit, so the truncation below would be needed anyway.

use serde::Serialize;

/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Longest header text.
pub const MAX_HEADER: usize = 150;
/// Longest section text.
pub const MAX_SECTION: usize = 3000;
/// Most fields of a section.
pub const MAX_FIELDS: usize = 10;
/// Longest field text.
pub const MAX_FIELD: usize = 2000;
/// Most elements of a context block.
pub const MAX_CONTEXT: usize = 10;
/// Longest context element (Slack allows a section's length; shorter reads better).
pub const MAX_CONTEXT_TEXT: usize = 2000;
/// Most elements of an actions block.
pub const MAX_ACTIONS: usize = 25;
/// Longest button label.
pub const MAX_BUTTON_TEXT: usize = 75;
/// Longest button value.
pub const MAX_BUTTON_VALUE: usize = 2000;
/// Longest button URL.
pub const MAX_BUTTON_URL: usize = 3000;
/// Longest top-level `text` (what notifications and screen readers use).
pub const MAX_TEXT: usize = 4000;
/// Most options of a menu.
pub const MAX_OPTIONS: usize = 100;
/// Longest option label.
pub const MAX_OPTION_TEXT: usize = 75;
/// Longest option value.
pub const MAX_OPTION_VALUE: usize = 150;
/// Longest menu placeholder.
pub const MAX_PLACEHOLDER: usize = 150;

/// What is appended to a text cut to its limit.
pub const CUT: char = '…';

/// A message: the notification text and the blocks people see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The fallback: mobile notifications and screen readers read only this.
    pub text: String,
    /// The blocks.
    pub blocks: Vec<Block>,
}

impl Message {
    /// A message from `text` (cut to [`MAX_TEXT`]) and `blocks`; past [`MAX_BLOCKS`] the last kept block says
    /// how many were left out.
    pub fn new(text: &str, mut blocks: Vec<Block>) -> Self {
        if blocks.len() > MAX_BLOCKS {
            let left_out = blocks.len() - (MAX_BLOCKS - 1);
            blocks.truncate(MAX_BLOCKS - 1);
            blocks.push(Block::context(vec![Text::mrkdwn(&format!(
                "_{left_out} more not shown: Slack shows at most {MAX_BLOCKS} blocks in a message._"
            ))]));
        }
        Self {
            text: cut(text, MAX_TEXT),
            blocks,
        }
    }
}

/// A text object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Text {
    /// Shown as written (headers and buttons need it).
    PlainText {
        /// The text.
        text: String,
        /// Render `:emoji:` codes.
        emoji: bool,
    },
    /// Slack's markdown: `*bold*`, `<@U…>`, `<url|label>`.
    Mrkdwn {
        /// The text.
        text: String,
    },
}

impl Text {
    /// Plain text, cut to `max`.
    pub fn plain(text: &str, max: usize) -> Self {
        Self::PlainText {
            text: cut(text, max),
            emoji: true,
        }
    }

    /// Markdown, cut to `max` without breaking an escape (`&amp;`) or a link (`<…>`).
    pub fn mrkdwn_max(text: &str, max: usize) -> Self {
        Self::Mrkdwn {
            text: cut_markup(text, max),
        }
    }

    /// Markdown, cut to a section's limit.
    pub fn mrkdwn(text: &str) -> Self {
        Self::mrkdwn_max(text, MAX_SECTION)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::PlainText { text, .. } | Self::Mrkdwn { text } => text,
        }
    }
}

/// A button's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// Green: the action people should take.
    Primary,
    /// Red: destructive.
    Danger,
}

/// An interactive element (buttons are the only kind used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Element {
    /// A button: pressing it sends `action_id` and `value` to the interactivity URL (a link button opens
    /// `url` and sends the press too).
    Button {
        /// Its label (plain text).
        text: Text,
        /// Which action (`klaxon.ack`, ...).
        action_id: String,
        /// The action's argument (the alert id).
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        /// A link to open instead.
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// Its colour.
        #[serde(skip_serializing_if = "Option::is_none")]
        style: Option<Style>,
    },
    /// A menu: choosing an option sends `action_id` and the option's value (in `selected_option`).
    StaticSelect {
        /// What it says before a choice (plain text).
        placeholder: Text,
        /// Which action (`klaxon.snooze`).
        action_id: String,
        /// The choices (at most [`MAX_OPTIONS`]).
        options: Vec<MenuOption>,
    },
}

impl Element {
    /// A menu of `options` (past [`MAX_OPTIONS`] the rest are left out).
    pub fn menu(placeholder: &str, action_id: &str, mut options: Vec<MenuOption>) -> Self {
        options.truncate(MAX_OPTIONS);
        Self::StaticSelect {
            placeholder: Text::plain(placeholder, MAX_PLACEHOLDER),
            action_id: cut(action_id, 255),
            options,
        }
    }

    /// An action button.
    pub fn button(label: &str, action_id: &str, value: &str, style: Option<Style>) -> Self {
        Self::Button {
            text: Text::plain(label, MAX_BUTTON_TEXT),
            action_id: cut(action_id, 255),
            value: Some(cut(value, MAX_BUTTON_VALUE)),
            url: None,
            style,
        }
    }

    /// A link button; `None` when the URL is too long to be a button (it is not shortened: a cut URL is a
    /// wrong URL).
    pub fn link(label: &str, action_id: &str, url: &str) -> Option<Self> {
        (url.chars().count() <= MAX_BUTTON_URL).then(|| Self::Button {
            text: Text::plain(label, MAX_BUTTON_TEXT),
            action_id: cut(action_id, 255),
            value: None,
            url: Some(url.to_owned()),
            style: None,
        })
    }
}

/// One option of a menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MenuOption {
    /// Its label (plain text, at most [`MAX_OPTION_TEXT`] characters).
    pub text: Text,
    /// What choosing it sends (at most [`MAX_OPTION_VALUE`] characters).
    pub value: String,
}

impl MenuOption {
    /// An option, its label cut to the limit; `None` when the value is too long (a cut value is a wrong
    /// value).
    pub fn new(label: &str, value: &str) -> Option<Self> {
        (value.chars().count() <= MAX_OPTION_VALUE).then(|| Self {
            text: Text::plain(label, MAX_OPTION_TEXT),
            value: value.to_owned(),
        })
    }
}

/// A layout block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A large plain-text title.
    Header {
        /// The title.
        text: Text,
    },
    /// Text, fields in two columns, and an optional element on the right.
    Section {
        /// The text.
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
        /// The fields.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
        /// An element beside the text.
        #[serde(skip_serializing_if = "Option::is_none")]
        accessory: Option<Element>,
    },
    /// Small grey text.
    Context {
        /// The texts.
        elements: Vec<Text>,
    },
    /// A row of buttons.
    Actions {
        /// A stable id for the row.
        block_id: String,
        /// The buttons.
        elements: Vec<Element>,
    },
    /// A line.
    Divider,
}

impl Block {
    /// A header, cut to its limit.
    pub fn header(text: &str) -> Self {
        Self::Header {
            text: Text::plain(text, MAX_HEADER),
        }
    }

    /// A section of markdown.
    pub fn section(text: &str) -> Self {
        Self::Section {
            text: Some(Text::mrkdwn(text)),
            fields: Vec::new(),
            accessory: None,
        }
    }

    /// A section of markdown with a button beside it.
    pub fn section_with(text: &str, accessory: Element) -> Self {
        Self::Section {
            text: Some(Text::mrkdwn(text)),
            fields: Vec::new(),
            accessory: Some(accessory),
        }
    }

    /// A section of fields (markdown, each cut to its limit; past [`MAX_FIELDS`] the rest are left out).
    pub fn fields(fields: &[String]) -> Self {
        Self::Section {
            text: None,
            fields: fields
                .iter()
                .take(MAX_FIELDS)
                .map(|f| Text::mrkdwn_max(f, MAX_FIELD))
                .collect(),
            accessory: None,
        }
    }

    /// A context block (past [`MAX_CONTEXT`] elements the rest are left out).
    pub fn context(mut elements: Vec<Text>) -> Self {
        elements.truncate(MAX_CONTEXT);
        let elements = elements
            .into_iter()
            .map(|e| match e {
                Text::Mrkdwn { text } => Text::mrkdwn_max(&text, MAX_CONTEXT_TEXT),
                Text::PlainText { text, emoji } => Text::PlainText {
                    text: cut(&text, MAX_CONTEXT_TEXT),
                    emoji,
                },
            })
            .collect();
        Self::Context { elements }
    }

    /// A row of buttons (past [`MAX_ACTIONS`] the rest are left out).
    pub fn actions(block_id: &str, mut elements: Vec<Element>) -> Self {
        elements.truncate(MAX_ACTIONS);
        Self::Actions {
            block_id: cut(block_id, 255),
            elements,
        }
    }
}

/// `s` cut to `max` characters, the last one being [`CUT`] when it was cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push(CUT);
    out
}

/// [`cut`] for markup: the cut never splits an escape (`&amp;`) or an angle-bracket token (`<@U…>`,
/// `<url|label>`), which Slack would show broken or refuse.
fn cut_markup(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let kept: String = s.chars().take(max.saturating_sub(1)).collect();
    let mut end = kept.len();
    if let Some(amp) = kept.rfind('&')
        && !kept[amp..].contains(';')
    {
        end = amp;
    }
    if let Some(open) = kept[..end].rfind('<')
        && !kept[open..end].contains('>')
    {
        end = open;
    }
    let mut out = kept[..end].to_owned();
    out.push(CUT);
    out
}

/// Escapes the three characters that are markup in Slack text (`&`, `<`, `>`); nothing else is encoded.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_with_a_marker() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(cut("ééé", 2), "é…");
        let h = Block::header(&"x".repeat(500));
        let Block::Header { text } = h else { panic!() };
        assert_eq!(text.as_str().chars().count(), MAX_HEADER);
    }

    #[test]
    fn markup_is_never_cut_inside_an_escape_or_a_link() {
        let s = format!("{}&amp;", "a".repeat(8));
        assert_eq!(cut_markup(&s, 11), "aaaaaaaa…");
        let s = format!("{}<https://example.com|x>", "a".repeat(5));
        assert_eq!(cut_markup(&s, 12), "aaaaa…");
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }

    #[test]
    fn a_message_keeps_within_fifty_blocks() {
        let blocks = (0..80).map(|i| Block::section(&i.to_string())).collect();
        let m = Message::new("t", blocks);
        assert_eq!(m.blocks.len(), MAX_BLOCKS);
        let json = serde_json::to_string(&m.blocks[MAX_BLOCKS - 1]).unwrap_or_default();
        assert!(json.contains("31 more not shown"), "{json}");
    }

    #[test]
    fn serialises_as_slack_expects() {
        let b = Block::actions(
            "klaxon",
            vec![Element::button(
                "Acknowledge",
                "klaxon.ack",
                "alert_1",
                Some(Style::Primary),
            )],
        );
        assert_eq!(
            serde_json::to_value(&b).unwrap_or_default(),
            serde_json::json!({"type": "actions", "block_id": "klaxon", "elements": [{
                "type": "button", "text": {"type": "plain_text", "text": "Acknowledge", "emoji": true},
                "action_id": "klaxon.ack", "value": "alert_1", "style": "primary"}]})
        );
        let f = Block::fields(&(0..12).map(|i| i.to_string()).collect::<Vec<_>>());
        let Block::Section { fields, .. } = f else {
            panic!()
        };
        assert_eq!(fields.len(), MAX_FIELDS);
    }
}
