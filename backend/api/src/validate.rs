//! Validation rules of the inputs, shared by the server and the Terraform provider.
//!
//! Each function returns every problem it finds, each with the path of its field in the request body
//! (`steps[1].user`); the server answers with the first, the provider reports them all as diagnostics at the
//! matching attribute paths. Rules that need the database (a team exists, a name is free) are the server's.

use crate::{EndpointInput, EscalationPolicyInput, Notify, Step, TeamInput};

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

/// Checks a team.
pub fn team(input: &TeamInput) -> Vec<FieldError> {
    let mut errs = Vec::new();
    name(&mut errs, "name", &input.name);
    if !is_slack_id(&input.slack_channel, &['C', 'G']) {
        errs.push(FieldError::new(
            "slack_channel",
            format!(
                "{:?} is not a Slack channel id: it starts with C or G followed by upper-case letters and digits, e.g. C0123ABCDE",
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
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN)
    {
        errs.push(FieldError::new(
            "description",
            format!("at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    errs
}

/// Checks a policy (everything but the existence of its team).
pub fn policy(input: &EscalationPolicyInput) -> Vec<FieldError> {
    let mut errs = Vec::new();
    not_blank(&mut errs, "team_id", &input.team_id);
    name(&mut errs, "name", &input.name);
    if input.repeat > MAX_REPEAT {
        errs.push(FieldError::new(
            "repeat",
            format!("must be between 0 and {MAX_REPEAT}"),
        ));
    }
    errs.extend(steps(&input.steps, input.repeat));
    errs
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
                "required on every step but the last: without it the chain would end here and the later steps could never run",
            )),
            None if repeat > 0 => errs.push(FieldError::new(
                at("escalate_after_minutes"),
                "required on the last step when repeat is above 0: it is the wait before the chain starts again",
            )),
            _ => {}
        }
    }
    errs
}

/// Checks an endpoint (everything but the existence of its team and policy).
pub fn endpoint(input: &EndpointInput) -> Vec<FieldError> {
    let mut errs = Vec::new();
    not_blank(&mut errs, "team_id", &input.team_id);
    if let Some(p) = &input.escalation_policy_id {
        not_blank(&mut errs, "escalation_policy_id", p);
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

/// True for a Slack user id: `U` or `W`, then at least 8 upper-case letters or digits.
pub fn is_user_id(s: &str) -> bool {
    is_slack_id(s, &['U', 'W'])
}

fn user_id_message(s: &str) -> String {
    format!(
        "{s:?} is not a Slack user id: it starts with U or W followed by upper-case letters and digits, e.g. U0123ABCDE"
    )
}

fn is_slack_id(s: &str, prefixes: &[char]) -> bool {
    let mut chars = s.chars();
    let head_ok = chars.next().is_some_and(|c| prefixes.contains(&c));
    let rest = chars.as_str();
    head_ok
        && (8..=20).contains(&rest.len())
        && rest.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// True for an SNS topic ARN: `arn:<partition>:sns:<region>:<12-digit account>:<name>`.
pub fn is_sns_topic_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    let [arn, partition, service, region, account, name] = parts.as_slice() else {
        return false;
    };
    let name = name.strip_suffix(".fifo").unwrap_or(name);
    *arn == "arn"
        && partition.starts_with("aws")
        && partition.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && *service == "sns"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && (1..=256).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
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
    } else if value.chars().any(char::is_control) {
        errs.push(FieldError::new(field, "must not contain control characters"));
    } else if value.trim() != value {
        errs.push(FieldError::new(field, "must not start or end with white space"));
    }
}

fn not_blank(errs: &mut Vec<FieldError>, field: &str, value: &str) {
    if value.trim().is_empty() {
        errs.push(FieldError::new(field, "must not be empty"));
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
    fn names() {
        let mut errs = Vec::new();
        name(&mut errs, "name", " padded ");
        name(&mut errs, "name", "");
        name(&mut errs, "name", &"x".repeat(101));
        name(&mut errs, "name", "ok name");
        assert_eq!(errs.len(), 3);
    }
}
