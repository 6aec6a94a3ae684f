//! Validation rules of the inputs, shared by the server and the Terraform provider.
//!
//! Each function returns every problem it finds, each with the path of its field in the request body
//! (`steps[1].user`); the server answers with the first, the provider reports them all as diagnostics at the
//! matching attribute paths. Rules that need the database (a team exists, a name is free) are the server's.

use std::sync::OnceLock;

use regex_lite::Regex;
use serde_json::{Value, json};

use crate::{EndpointInput, EscalationPolicyInput, HeartbeatInput, ListQuery, Notify, Step, TeamInput};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field: `name`, `members[2]`, `steps[1].escalate_after_minutes`.
    pub field: String,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Longest name of a team, policy or endpoint.
pub const MAX_NAME_LEN: usize = 100;
/// Longest team description.
pub const MAX_DESCRIPTION_LEN: usize = 1000;
/// Longest title of an alert raised through the API.
pub const MAX_TITLE_LEN: usize = 500;
/// Most members of a team.
pub const MAX_MEMBERS: usize = 100;
/// Most steps of a policy.
pub const MAX_STEPS: usize = 20;
/// Largest `repeat`.
pub const MAX_REPEAT: u32 = 9;
/// Largest wait of a step: one day.
pub const MAX_STEP_MINUTES: u32 = 1440;
/// Largest alert grouping window: one year.
pub const MAX_ALERT_GROUPING_MINUTES: u32 = 525_600;
/// Largest notification grouping window: one day.
pub const MAX_NOTIFICATION_GROUPING_MINUTES: u32 = 1440;
/// Most allowed topics of an endpoint.
pub const MAX_TOPICS: usize = 100;

// The patterns below are the rules themselves: the checks run them, and the OpenAPI document carries them
// verbatim (see [`schema_rules`]), so a client generated from the document and the server agree by
// construction. They are written in the subset that reads the same in ECMA-262 (JSON Schema), Python and
// `regex-lite`: anchored, ASCII classes and explicit `\uXXXX` code points, no Unicode property classes.

/// A Slack user id: `U` or `W`, then 8 to 20 upper-case letters or digits.
pub const SLACK_USER_ID_PATTERN: &str = "^[UW][A-Z0-9]{8,20}$";
/// A Slack channel id: `C` (public) or `G` (private), then 8 to 20 upper-case letters or digits.
pub const SLACK_CHANNEL_ID_PATTERN: &str = "^[CG][A-Z0-9]{8,20}$";
/// The id of an object this API handed out (`team_...`, `policy_...`), as a reference in a body.
pub const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// A name: no control characters (C0, DEL, C1), and neither starting nor ending with white space (the
/// characters Rust's `char::is_whitespace` names). Its length is bounded by [`MAX_NAME_LEN`] apart.
pub const NAME_PATTERN: &str = concat!(
    "^[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]",
    "(?:[^\\u0000-\\u001F\\u007F-\\u009F]*",
    "[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000])?$"
);
/// A title: not blank (a character that is not white space) and no NUL anywhere. Its length is bounded by
/// [`MAX_TITLE_LEN`] apart.
pub const TITLE_PATTERN: &str = concat!(
    "^[^\\u0000]*",
    "[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]",
    "[^\\u0000]*$"
);
/// An SNS topic ARN: `arn:<partition>:sns:<region>:<12-digit account>:<name>`, the name 1 to 256 letters,
/// digits, `-` or `_`, optionally followed by `.fifo`.
pub const SNS_TOPIC_ARN_PATTERN: &str =
    "^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$";

/// The compiled form of each pattern, built once.
struct Patterns {
    user_id: Regex,
    channel_id: Regex,
    id: Regex,
    name: Regex,
    title: Regex,
    topic_arn: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        // The patterns are constants checked by this module's tests: they compile.
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("pattern {p:?} does not compile: {e}"));
        Patterns {
            user_id: re(SLACK_USER_ID_PATTERN),
            channel_id: re(SLACK_CHANNEL_ID_PATTERN),
            id: re(ID_PATTERN),
            name: re(NAME_PATTERN),
            title: re(TITLE_PATTERN),
            topic_arn: re(SNS_TOPIC_ARN_PATTERN),
        }
    })
}

/// Checks a team.
pub fn team(input: &TeamInput) -> Vec<FieldError> {
    let mut errs = Vec::new();
    name(&mut errs, "name", &input.name);
    if !is_channel_id(&input.slack_channel) {
        errs.push(FieldError::new(
            "slack_channel",
            format!(
                "{:?} is not a Slack channel id: it starts with C or G followed by 8 to 20 upper-case letters and digits, e.g. C0123ABCDE",
                input.slack_channel
            ),
        ));
    }
    if input.members.len() > MAX_MEMBERS {
        errs.push(FieldError::new(
            "members",
            format!("at most {MAX_MEMBERS} members are allowed"),
        ));
    }
    for (i, m) in input.members.iter().enumerate() {
        if !is_user_id(m) {
            errs.push(FieldError::new(format!("members[{i}]"), user_id_message(m)));
        } else if input.members[..i].contains(m) {
            errs.push(FieldError::new(
                format!("members[{i}]"),
                format!("{m} is listed twice"),
            ));
        }
    }
    if let Some(d) = &input.description {
        if d.chars().count() > MAX_DESCRIPTION_LEN {
            errs.push(FieldError::new(
                "description",
                format!("at most {MAX_DESCRIPTION_LEN} characters"),
            ));
        }
        no_nul(&mut errs, "description", d);
    }
    errs
}

/// Checks a policy (everything but the existence of its team).
pub fn policy(input: &EscalationPolicyInput) -> Vec<FieldError> {
    let mut errs = Vec::new();
    id(&mut errs, "team_id", &input.team_id);
    name(&mut errs, "name", &input.name);
    repeat(&mut errs, input.repeat);
    errs.extend(steps(&input.steps, input.repeat));
    remind_after(&mut errs, input.remind_after_minutes);
    errs
}

/// Checks a policy's `remind_after_minutes`.
pub fn remind_after(errs: &mut Vec<FieldError>, minutes: Option<u32>) {
    if let Some(m) = minutes
        && !(1..=MAX_STEP_MINUTES).contains(&m)
    {
        errs.push(FieldError::new(
            "remind_after_minutes",
            format!("must be between 1 and {MAX_STEP_MINUTES} minutes"),
        ));
    }
}

/// Checks a policy's `repeat`.
pub fn repeat(errs: &mut Vec<FieldError>, repeat: u32) {
    if repeat > MAX_REPEAT {
        errs.push(FieldError::new(
            "repeat",
            format!("must be between 0 and {MAX_REPEAT}"),
        ));
    }
}

/// Checks the steps of a policy with its `repeat`.
pub fn steps(steps: &[Step], repeat: u32) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if steps.is_empty() {
        errs.push(FieldError::new("steps", "a policy needs at least one step"));
    }
    if steps.len() > MAX_STEPS {
        errs.push(FieldError::new(
            "steps",
            format!("at most {MAX_STEPS} steps are allowed"),
        ));
    }
    let last = steps.len().saturating_sub(1);
    for (i, s) in steps.iter().enumerate() {
        let at = |f: &str| format!("steps[{i}].{f}");
        match (s.notify, &s.user) {
            (Notify::User, None) => {
                errs.push(FieldError::new(at("user"), "required when notify is \"user\""));
            }
            (Notify::User, Some(u)) if !is_user_id(u) => {
                errs.push(FieldError::new(at("user"), user_id_message(u)));
            }
            (n, Some(_)) if n != Notify::User => errs.push(FieldError::new(
                at("user"),
                format!(
                    "only allowed when notify is \"user\" (this step notifies \"{}\")",
                    n.as_str()
                ),
            )),
            _ => {}
        }
        match s.escalate_after_minutes {
            Some(m) if !(1..=MAX_STEP_MINUTES).contains(&m) => errs.push(FieldError::new(
                at("escalate_after_minutes"),
                format!("must be between 1 and {MAX_STEP_MINUTES} minutes"),
            )),
            None if i < last => errs.push(FieldError::new(
                at("escalate_after_minutes"),
                STEP_DELAY_RULE_MIDDLE,
            )),
            None if repeat > 0 => errs.push(FieldError::new(
                at("escalate_after_minutes"),
                STEP_DELAY_RULE_LAST,
            )),
            _ => {}
        }
    }
    errs
}

/// Why a step before the last needs `escalate_after_minutes`.
const STEP_DELAY_RULE_MIDDLE: &str = "required on every step but the last: without it the chain would end here and the later steps could never run";
/// Why the last step needs `escalate_after_minutes` when the chain repeats.
const STEP_DELAY_RULE_LAST: &str =
    "required on the last step when repeat is above 0: it is the wait before the chain starts again";

/// Checks an endpoint (everything but the existence of its team and policy).
pub fn endpoint(input: &EndpointInput) -> Vec<FieldError> {
    let mut errs = Vec::new();
    id(&mut errs, "team_id", &input.team_id);
    if let Some(p) = &input.escalation_policy_id {
        id(&mut errs, "escalation_policy_id", p);
    }
    name(&mut errs, "name", &input.name);
    if input.allowed_topic_arns.len() > MAX_TOPICS {
        errs.push(FieldError::new(
            "allowed_topic_arns",
            format!("at most {MAX_TOPICS} topics are allowed"),
        ));
    }
    for (i, arn) in input.allowed_topic_arns.iter().enumerate() {
        if !is_sns_topic_arn(arn) {
            errs.push(FieldError::new(
                format!("allowed_topic_arns[{i}]"),
                format!("{arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT_ID:NAME)"),
            ));
        }
    }
    if input.alert_grouping_minutes > MAX_ALERT_GROUPING_MINUTES {
        errs.push(FieldError::new(
            "alert_grouping_minutes",
            format!("must be between 0 and {MAX_ALERT_GROUPING_MINUTES} minutes (one year)"),
        ));
    }
    if input.notification_grouping_minutes > MAX_NOTIFICATION_GROUPING_MINUTES {
        errs.push(FieldError::new(
            "notification_grouping_minutes",
            format!("must be between 0 and {MAX_NOTIFICATION_GROUPING_MINUTES} minutes (one day)"),
        ));
    }
    errs
}

/// Checks a heartbeat's body: ids, name, `interval_minutes` 1 to
/// [`MAX_HEARTBEAT_INTERVAL_MINUTES`](crate::MAX_HEARTBEAT_INTERVAL_MINUTES), `grace_minutes` 0 to
/// [`MAX_HEARTBEAT_GRACE_MINUTES`](crate::MAX_HEARTBEAT_GRACE_MINUTES).
pub fn heartbeat(input: &HeartbeatInput) -> Vec<FieldError> {
    let mut errs = Vec::new();
    id(&mut errs, "team_id", &input.team_id);
    if let Some(p) = &input.escalation_policy_id {
        id(&mut errs, "escalation_policy_id", p);
    }
    name(&mut errs, "name", &input.name);
    if !(1..=crate::MAX_HEARTBEAT_INTERVAL_MINUTES).contains(&input.interval_minutes) {
        errs.push(FieldError::new(
            "interval_minutes",
            format!(
                "must be between 1 and {} minutes (7 days)",
                crate::MAX_HEARTBEAT_INTERVAL_MINUTES
            ),
        ));
    }
    if input.grace_minutes > crate::MAX_HEARTBEAT_GRACE_MINUTES {
        errs.push(FieldError::new(
            "grace_minutes",
            format!(
                "must be between 0 and {} minutes (1 day)",
                crate::MAX_HEARTBEAT_GRACE_MINUTES
            ),
        ));
    }
    errs
}

/// Checks the title of an alert raised through the API ([`TITLE_PATTERN`], at most [`MAX_TITLE_LEN`]
/// characters).
pub fn title(errs: &mut Vec<FieldError>, field: &str, value: &str) {
    if value.chars().count() > MAX_TITLE_LEN {
        errs.push(FieldError::new(
            field,
            format!("at most {MAX_TITLE_LEN} characters"),
        ));
    } else if !patterns().title.is_match(value) {
        errs.push(FieldError::new(
            field,
            "must not be empty or blank, nor contain the NUL character (U+0000)",
        ));
    }
}

/// Checks free text that is stored as given: it may not carry the NUL character, which PostgreSQL cannot
/// store in text and no person means to send.
pub fn no_nul(errs: &mut Vec<FieldError>, field: &str, value: &str) {
    if value.contains('\0') {
        errs.push(FieldError::new(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
}

/// Checks a reference to an object this API handed out.
pub fn id(errs: &mut Vec<FieldError>, field: &str, value: &str) {
    if !patterns().id.is_match(value) {
        errs.push(FieldError::new(
            field,
            format!("{value:?} is not an id this API hands out (1 to 64 letters, digits, _ or -)"),
        ));
    }
}

/// Checks a list of Slack user ids (`members[2]` names the bad one).
pub fn user_ids(errs: &mut Vec<FieldError>, field: &str, values: &[String]) {
    for (i, m) in values.iter().enumerate() {
        if !is_user_id(m) {
            errs.push(FieldError::new(format!("{field}[{i}]"), user_id_message(m)));
        }
    }
}

/// True for a Slack user id ([`SLACK_USER_ID_PATTERN`]).
pub fn is_user_id(s: &str) -> bool {
    patterns().user_id.is_match(s)
}

/// True for a Slack channel id ([`SLACK_CHANNEL_ID_PATTERN`]).
pub fn is_channel_id(s: &str) -> bool {
    patterns().channel_id.is_match(s)
}

/// The message of a value that is not a Slack user id.
pub fn user_id_message(s: &str) -> String {
    format!(
        "{s:?} is not a Slack user id: it starts with U or W followed by 8 to 20 upper-case letters and digits, e.g. U0123ABCDE"
    )
}

/// True for an SNS topic ARN ([`SNS_TOPIC_ARN_PATTERN`]).
pub fn is_sns_topic_arn(s: &str) -> bool {
    patterns().topic_arn.is_match(s)
}

fn name(errs: &mut Vec<FieldError>, field: &str, value: &str) {
    let len = value.chars().count();
    if value.trim().is_empty() {
        errs.push(FieldError::new(field, "must not be empty"));
    } else if len > MAX_NAME_LEN {
        errs.push(FieldError::new(
            field,
            format!("at most {MAX_NAME_LEN} characters"),
        ));
    } else if !patterns().name.is_match(value) {
        errs.push(FieldError::new(
            field,
            "must not contain control characters, nor start or end with white space",
        ));
    }
}

/// One constraint of the OpenAPI document: JSON Schema keywords merged into the component schema `schema`
/// (into its property `property`, or into the schema itself when that is empty).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaRule {
    /// The component (`TeamInput`).
    pub schema: &'static str,
    /// The property (`members`), or `""` for the schema itself.
    pub property: &'static str,
    /// The keywords, merged deeply (`{"items": {"pattern": ...}}` reaches into the items' schema).
    pub keywords: Value,
}

/// The constraints the checks above enforce, in JSON Schema, for the OpenAPI document: the same constants
/// and patterns, so the document cannot promise a rule the server does not keep, nor miss one it does.
/// Components the server alone defines (alerts, simulation) add theirs with [`rule`].
pub fn schema_rules() -> Vec<SchemaRule> {
    let name = json!({"minLength": 1, "maxLength": MAX_NAME_LEN, "pattern": NAME_PATTERN});
    let id = json!({"pattern": ID_PATTERN});
    let user = json!({"pattern": SLACK_USER_ID_PATTERN});
    let users = json!({"items": user});
    let minutes = json!({"minimum": 1, "maximum": MAX_STEP_MINUTES});
    let repeat = json!({"minimum": 0, "maximum": MAX_REPEAT});
    let steps = json!({
        "minItems": 1, "maxItems": MAX_STEPS,
        "description": format!(
            "1 to {MAX_STEPS} steps, run in this order. Every step but the last needs \
             `escalate_after_minutes`, and the last one needs it too when `repeat` is above 0 (the wait \
             before the chain starts again); JSON Schema cannot say which item is the last, so this rule is \
             stated here and checked by the server (400 naming `steps[i].escalate_after_minutes`)."
        ),
    });
    vec![
        rule("TeamInput", "name", name.clone()),
        rule(
            "TeamInput",
            "slack_channel",
            json!({"pattern": SLACK_CHANNEL_ID_PATTERN}),
        ),
        rule(
            "TeamInput",
            "members",
            json!({"maxItems": MAX_MEMBERS, "uniqueItems": true, "items": user}),
        ),
        rule(
            "TeamInput",
            "description",
            json!({"maxLength": MAX_DESCRIPTION_LEN, "pattern": NO_NUL_PATTERN}),
        ),
        rule("EscalationPolicyInput", "team_id", id.clone()),
        rule("EscalationPolicyInput", "name", name.clone()),
        rule("EscalationPolicyInput", "steps", steps.clone()),
        rule("EscalationPolicyInput", "repeat", repeat.clone()),
        rule("Step", "user", user),
        rule("EscalationPolicyInput", "remind_after_minutes", minutes.clone()),
        rule("Step", "escalate_after_minutes", minutes),
        // `user` goes with `notify: user` and only with it.
        rule(
            "Step",
            "",
            json!({
                "if": {"properties": {"notify": {"const": "user"}}, "required": ["notify"]},
                "then": {"required": ["user"], "properties": {"user": {"type": "string"}}},
                "else": {"properties": {"user": {"type": "null"}}},
            }),
        ),
        rule("EndpointInput", "team_id", id.clone()),
        rule("EndpointInput", "escalation_policy_id", id.clone()),
        rule("EndpointInput", "name", name.clone()),
        rule(
            "EndpointInput",
            "allowed_topic_arns",
            json!({"maxItems": MAX_TOPICS, "items": {"pattern": SNS_TOPIC_ARN_PATTERN}}),
        ),
        rule(
            "EndpointInput",
            "alert_grouping_minutes",
            json!({"minimum": 0, "maximum": MAX_ALERT_GROUPING_MINUTES}),
        ),
        rule(
            "EndpointInput",
            "notification_grouping_minutes",
            json!({"minimum": 0, "maximum": MAX_NOTIFICATION_GROUPING_MINUTES}),
        ),
        rule("HeartbeatInput", "team_id", id.clone()),
        rule("HeartbeatInput", "escalation_policy_id", id.clone()),
        rule("HeartbeatInput", "name", name),
        rule(
            "HeartbeatInput",
            "interval_minutes",
            json!({"minimum": 1, "maximum": crate::MAX_HEARTBEAT_INTERVAL_MINUTES}),
        ),
        rule(
            "HeartbeatInput",
            "grace_minutes",
            json!({"minimum": 0, "maximum": crate::MAX_HEARTBEAT_GRACE_MINUTES}),
        ),
        // Shared by the simulation's bodies.
        rule("SimulateInput", "team_id", id),
        rule("SimulateInput", "steps", steps),
        rule("SimulateInput", "repeat", repeat),
        rule("SimulateInput", "members", users.clone()),
        rule("SimulateInput", "inactive", users.clone()),
        rule("SimulateMembers", "members", users.clone()),
        rule("SimulateMembers", "inactive", users),
    ]
}

/// The rule for list parameters: `limit` is 1 to [`ListQuery::MAX_LIMIT`].
pub fn limit_rule() -> Value {
    json!({"minimum": 1, "maximum": ListQuery::MAX_LIMIT})
}

/// No NUL character anywhere (see [`no_nul`]).
pub const NO_NUL_PATTERN: &str = "^[^\\u0000]*$";

/// A [`SchemaRule`].
pub fn rule(schema: &'static str, property: &'static str, keywords: Value) -> SchemaRule {
    SchemaRule {
        schema,
        property,
        keywords,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(notify: Notify, user: Option<&str>, after: Option<u32>) -> Step {
        Step {
            notify,
            user: user.map(str::to_owned),
            escalate_after_minutes: after,
        }
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn default_chain_is_valid() {
        assert!(steps(&crate::default_chain(), 0).is_empty());
    }

    #[test]
    fn user_step_needs_a_user_and_only_it_may_have_one() {
        let errs = steps(
            &[
                step(Notify::User, None, Some(5)),
                step(Notify::Here, Some("U12345678"), None),
            ],
            0,
        );
        assert_eq!(fields(&errs), ["steps[0].user", "steps[1].user"]);
    }

    #[test]
    fn only_the_last_step_may_end_the_chain_and_not_when_repeating() {
        let s = [step(Notify::Here, None, None), step(Notify::Channel, None, None)];
        assert_eq!(fields(&steps(&s, 0)), ["steps[0].escalate_after_minutes"]);
        assert_eq!(
            fields(&steps(&s, 2)),
            [
                "steps[0].escalate_after_minutes",
                "steps[1].escalate_after_minutes"
            ]
        );
    }

    #[test]
    fn minutes_out_of_range() {
        let errs = steps(
            &[
                step(Notify::Here, None, Some(0)),
                step(Notify::Here, None, Some(1441)),
            ],
            0,
        );
        assert_eq!(
            fields(&errs),
            [
                "steps[0].escalate_after_minutes",
                "steps[1].escalate_after_minutes"
            ]
        );
    }

    #[test]
    fn slack_ids() {
        assert!(is_user_id("U0123ABCDE"));
        assert!(is_user_id("W12345678"));
        assert!(!is_user_id("u0123abcde"));
        assert!(!is_user_id("U123"));
        assert!(!is_user_id(""));
        assert!(!is_user_id("Ü12345678"));
        let t = TeamInput {
            name: "sre".into(),
            slack_channel: "#general".into(),
            members: vec!["U11111111".into(), "U11111111".into()],
            description: None,
        };
        assert_eq!(fields(&team(&t)), ["slack_channel", "members[1]"]);
    }

    #[test]
    fn topic_arns() {
        assert!(is_sns_topic_arn("arn:aws:sns:eu-west-1:123456789012:alerts"));
        assert!(is_sns_topic_arn(
            "arn:aws-cn:sns:cn-north-1:123456789012:a_b-c.fifo"
        ));
        assert!(!is_sns_topic_arn("arn:aws:sqs:eu-west-1:123456789012:alerts"));
        assert!(!is_sns_topic_arn("arn:aws:sns:eu-west-1:1234:alerts"));
        assert!(!is_sns_topic_arn("alerts"));
    }

    #[test]
    fn patterns_compile_and_mean_what_they_say() {
        let p = patterns();
        assert!(p.channel_id.is_match("C0123ABCDE") && p.channel_id.is_match("G01234567"));
        assert!(!p.channel_id.is_match("C0123ABCDE\n") && !p.channel_id.is_match("D0123ABCDE"));
        assert!(p.id.is_match("team_0190f2c4a1b27c3d8e9f00112233445566"));
        assert!(!p.id.is_match("") && !p.id.is_match("../x") && !p.id.is_match(&"a".repeat(65)));
        assert!(
            p.title.is_match(" x ") && !p.title.is_match(" \t\u{3000}\u{85}") && !p.title.is_match("x\u{0}")
        );
        for ok in ["a", "ok name", "équipe", "a\u{3000}b"] {
            assert!(p.name.is_match(ok), "{ok:?}");
        }
        for bad in [
            "",
            " a",
            "a ",
            "a\u{a0}",
            "\u{2003}a",
            "a\tb",
            "a\u{7f}",
            "a\u{85}b",
            "a\u{0}",
        ] {
            assert!(!p.name.is_match(bad), "{bad:?}");
        }
        assert!(Regex::new(NO_NUL_PATTERN).is_ok_and(|r| r.is_match("a b") && !r.is_match("a\u{0}b")));
    }

    /// Every white-space character Rust trims is one the name pattern refuses at either end, and nothing
    /// else is: the document's pattern and the server's `trim` agree.
    #[test]
    fn name_pattern_ends_are_rusts_white_space_and_controls() {
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            let at_end = format!("a{c}");
            let refused = !patterns().name.is_match(&at_end);
            assert_eq!(refused, c.is_whitespace() || c.is_control(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn rules_name_real_constants() {
        let rules = schema_rules();
        assert!(rules.iter().any(|r| r.keywords["maxItems"] == MAX_STEPS));
        assert!(rules.iter().all(|r| r.keywords.is_object()));
    }

    #[test]
    fn names() {
        let mut errs = Vec::new();
        name(&mut errs, "name", " padded ");
        name(&mut errs, "name", "");
        name(&mut errs, "name", &"x".repeat(101));
        name(&mut errs, "name", "ok name");
        assert_eq!(errs.len(), 3);
    }
}
