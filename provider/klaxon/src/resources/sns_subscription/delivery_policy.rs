//! The delivery policy of a `klaxon_sns_subscription`: Klaxon's defaults (retry for the hour SNS allows,
//! throttled to the server's ingest rate), the DeliveryPolicy JSON written and read back by value, the planned
//! state's defaults, and the checks of a configured policy and dead-letter queue at their attribute paths.

use serde_json::json;
use tfplugin::Value;

use super::{RetryState, SubscriptionState, ThrottleState};

/// Deliveries per second SNS allows itself to the subscription unless `throttle_policy` says otherwise: the
/// Klaxon server's default `KLAXON_INGEST_RATE` (the provider cannot know the server's setting).
pub(super) const DEFAULT_MAX_RECEIVES_PER_SECOND: i64 = 50;

/// Most retries SNS accepts in an HTTP/S retry policy.
pub(super) const MAX_RETRIES: i64 = 100;

/// Longest delay SNS accepts, and the hard cap on the time a whole HTTP/S retry policy may take (seconds).
pub(super) const MAX_POLICY_SECONDS: i64 = 3600;

/// The backoff functions SNS knows, as written in a delivery policy.
pub(super) const BACKOFF_FUNCTIONS: [&str; 4] = ["arithmetic", "exponential", "geometric", "linear"];

/// A `healthyRetryPolicy`, wholly known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RetryPolicy {
    /// All retries, over the four phases.
    pub(super) num_retries: i64,
    /// Retries right after the failed attempt.
    pub(super) num_no_delay_retries: i64,
    /// Retries `min_delay_target` apart, before the backoff.
    pub(super) num_min_delay_retries: i64,
    /// Delay of the pre-backoff retries and of the first backoff retry (seconds).
    pub(super) min_delay_target: i64,
    /// Delay of the last backoff retry and of the post-backoff retries (seconds).
    pub(super) max_delay_target: i64,
    /// Retries `max_delay_target` apart, after the backoff.
    pub(super) num_max_delay_retries: i64,
    /// How the backoff delays grow from the minimum to the maximum.
    pub(super) backoff_function: String,
}

impl RetryPolicy {
    /// Klaxon's default: no immediate retry (a restarting or rate-limiting server answers the same), three
    /// retries 5 s apart for a quick restart, ten retries backing off exponentially to a minute, then one a
    /// minute: 60 retries lasting 48 to 57 minutes, within SNS's hour whatever its backoff curve.
    pub(super) fn klaxon_default() -> Self {
        Self {
            num_retries: 60,
            num_no_delay_retries: 0,
            num_min_delay_retries: 3,
            min_delay_target: 5,
            max_delay_target: 60,
            num_max_delay_retries: 47,
            backoff_function: "exponential".to_owned(),
        }
    }

    /// What SNS does for an HTTP/S subscription without a policy (3 retries 20 s apart): what a subscription
    /// whose DeliveryPolicy lacks a field reads as.
    pub(super) fn sns_default() -> Self {
        Self {
            num_retries: 3,
            num_no_delay_retries: 0,
            num_min_delay_retries: 0,
            min_delay_target: 20,
            max_delay_target: 20,
            num_max_delay_retries: 0,
            backoff_function: "linear".to_owned(),
        }
    }

    /// The longest the retries can take (seconds): every backoff retry counted at `max_delay_target`, since
    /// SNS does not publish its backoff curves. A policy within the hour by this count is within it for SNS.
    pub(super) fn worst_case_seconds(&self) -> i64 {
        let after_pre_backoff = self.num_retries - self.num_no_delay_retries - self.num_min_delay_retries;
        self.num_min_delay_retries
            .saturating_mul(self.min_delay_target)
            .saturating_add(after_pre_backoff.saturating_mul(self.max_delay_target))
    }
}

/// The subscription's delivery policy, wholly known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DeliveryPolicy {
    /// `throttlePolicy.maxReceivesPerSecond`; `None` = SNS does not throttle.
    pub(super) max_receives_per_second: Option<i64>,
    /// `healthyRetryPolicy`.
    pub(super) retry: RetryPolicy,
}

impl DeliveryPolicy {
    /// The DeliveryPolicy attribute's JSON. Every field is written: SNS then uses none of its own defaults.
    pub(super) fn to_json(&self) -> String {
        let r = &self.retry;
        let mut policy = json!({
            "healthyRetryPolicy": {
                "numRetries": r.num_retries,
                "numNoDelayRetries": r.num_no_delay_retries,
                "numMinDelayRetries": r.num_min_delay_retries,
                "minDelayTarget": r.min_delay_target,
                "maxDelayTarget": r.max_delay_target,
                "numMaxDelayRetries": r.num_max_delay_retries,
                "backoffFunction": r.backoff_function,
            }
        });
        if let (Some(rate), Some(obj)) = (self.max_receives_per_second, policy.as_object_mut()) {
            obj.insert("throttlePolicy".into(), json!({ "maxReceivesPerSecond": rate }));
        }
        policy.to_string()
    }

    /// The policy a DeliveryPolicy attribute means. Compared by value, not text: key order, spacing, numbers
    /// as strings and extra keys SNS may add make no difference. A missing (or unreadable) policy or field is
    /// SNS's default for it.
    pub(super) fn from_json(json: Option<&str>) -> Self {
        let policy = json
            .filter(|j| !j.trim().is_empty())
            .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            .unwrap_or_default();
        let retry = &policy["healthyRetryPolicy"];
        let default = RetryPolicy::sns_default();
        let int = |key: &str, default: i64| integer(&retry[key]).unwrap_or(default);
        Self {
            max_receives_per_second: integer(&policy["throttlePolicy"]["maxReceivesPerSecond"]),
            retry: RetryPolicy {
                num_retries: int("numRetries", default.num_retries),
                num_no_delay_retries: int("numNoDelayRetries", default.num_no_delay_retries),
                num_min_delay_retries: int("numMinDelayRetries", default.num_min_delay_retries),
                min_delay_target: int("minDelayTarget", default.min_delay_target),
                max_delay_target: int("maxDelayTarget", default.max_delay_target),
                num_max_delay_retries: int("numMaxDelayRetries", default.num_max_delay_retries),
                backoff_function: retry["backoffFunction"]
                    .as_str()
                    .map_or(default.backoff_function, str::to_ascii_lowercase),
            },
        }
    }
}

/// A whole number from a policy field: a JSON integer, an integral float or a string of digits.
pub(super) fn integer(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                // Checked integral and in range just above.
                .map(|f| f as i64)
        }),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The planned state: the throttle and every retry field the configuration leaves out plan their defaults
/// visibly (removing `num_retries = 10` plans the default again, rather than keeping 10 from the prior state).
pub(super) fn planned(mut plan: SubscriptionState, config: &SubscriptionState) -> SubscriptionState {
    plan.throttle_policy = match &config.throttle_policy {
        Value::Unknown => Value::Unknown,
        Value::Null => Value::Known(ThrottleState {
            max_receives_per_second: Value::Known(DEFAULT_MAX_RECEIVES_PER_SECOND),
        }),
        Value::Known(c) => Value::Known(ThrottleState {
            max_receives_per_second: or_default(&c.max_receives_per_second, DEFAULT_MAX_RECEIVES_PER_SECOND),
        }),
    };
    let d = RetryPolicy::klaxon_default();
    plan.retry_policy = match &config.retry_policy {
        Value::Unknown => Value::Unknown,
        Value::Null => retry_state(&d),
        Value::Known(c) => Value::Known(RetryState {
            num_retries: or_default(&c.num_retries, d.num_retries),
            num_no_delay_retries: or_default(&c.num_no_delay_retries, d.num_no_delay_retries),
            num_min_delay_retries: or_default(&c.num_min_delay_retries, d.num_min_delay_retries),
            min_delay_target: or_default(&c.min_delay_target, d.min_delay_target),
            max_delay_target: or_default(&c.max_delay_target, d.max_delay_target),
            num_max_delay_retries: or_default(&c.num_max_delay_retries, d.num_max_delay_retries),
            backoff_function: or_default(&c.backoff_function, d.backoff_function),
        }),
    };
    plan
}

/// A configured value, or the default when the configuration leaves it out (unknown stays unknown).
pub(super) fn or_default<T: Clone>(config: &Value<T>, default: T) -> Value<T> {
    match config {
        Value::Null => Value::Known(default),
        other => other.clone(),
    }
}

/// The delivery policy of a planned (wholly known) state; defaults stand in for anything missing.
pub(super) fn policy_of(state: &SubscriptionState) -> DeliveryPolicy {
    let d = RetryPolicy::klaxon_default();
    let rate = match &state.throttle_policy {
        Value::Known(t) => t.max_receives_per_second.known(),
        _ => None,
    };
    let retry = match &state.retry_policy {
        Value::Known(r) => RetryPolicy {
            num_retries: r.num_retries.unwrap_or(d.num_retries),
            num_no_delay_retries: r.num_no_delay_retries.unwrap_or(d.num_no_delay_retries),
            num_min_delay_retries: r.num_min_delay_retries.unwrap_or(d.num_min_delay_retries),
            min_delay_target: r.min_delay_target.unwrap_or(d.min_delay_target),
            max_delay_target: r.max_delay_target.unwrap_or(d.max_delay_target),
            num_max_delay_retries: r.num_max_delay_retries.unwrap_or(d.num_max_delay_retries),
            backoff_function: r.backoff_function.clone().unwrap_or(d.backoff_function),
        },
        _ => d,
    };
    DeliveryPolicy {
        max_receives_per_second: Some(rate.unwrap_or(DEFAULT_MAX_RECEIVES_PER_SECOND)),
        retry,
    }
}

/// `throttle_policy` of a policy (a policy without throttle has a null rate, which plans an update).
pub(super) fn throttle_state(policy: &DeliveryPolicy) -> Value<ThrottleState> {
    Value::Known(ThrottleState {
        max_receives_per_second: policy.max_receives_per_second.into(),
    })
}

/// `retry_policy` of a policy.
pub(super) fn retry_state(r: &RetryPolicy) -> Value<RetryState> {
    Value::Known(RetryState {
        num_retries: Value::Known(r.num_retries),
        num_no_delay_retries: Value::Known(r.num_no_delay_retries),
        num_min_delay_retries: Value::Known(r.num_min_delay_retries),
        min_delay_target: Value::Known(r.min_delay_target),
        max_delay_target: Value::Known(r.max_delay_target),
        num_max_delay_retries: Value::Known(r.num_max_delay_retries),
        backoff_function: Value::Known(r.backoff_function.clone()),
    })
}

/// The RedrivePolicy attribute's value: the queue, or empty (which detaches one).
pub(super) fn redrive_policy(dead_letter_queue_arn: Option<&str>) -> String {
    dead_letter_queue_arn.map_or_else(String::new, |arn| {
        json!({ "deadLetterTargetArn": arn }).to_string()
    })
}

/// The queue a RedrivePolicy attribute names, if any.
pub(super) fn dead_letter_target(redrive_policy: Option<&str>) -> Option<String> {
    let policy: serde_json::Value = serde_json::from_str(redrive_policy?).ok()?;
    policy["deadLetterTargetArn"]
        .as_str()
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
}

/// What is wrong with a configuration's delivery policy and queue, each at its attribute path. Fields left out
/// count as their defaults; unknown fields are not checked (nor the rules they take part in).
pub(super) fn problems(config: &SubscriptionState) -> Vec<(Vec<&'static str>, String)> {
    let mut out = Vec::new();
    if let Value::Known(t) = &config.throttle_policy
        && let Value::Known(rate) = t.max_receives_per_second
        && rate < 1
    {
        out.push((
            vec!["throttle_policy", "max_receives_per_second"],
            format!("must be 1 or more deliveries per second, got {rate}"),
        ));
    }
    if let Value::Known(r) = &config.retry_policy {
        out.extend(retry_problems(r).into_iter().map(|(field, message)| {
            (
                field.map_or(vec!["retry_policy"], |f| vec!["retry_policy", f]),
                message,
            )
        }));
    }
    if let Value::Known(arn) = &config.dead_letter_queue_arn
        && let Some(problem) = queue_problem(arn, config.topic_arn.as_deref().known())
    {
        out.push((vec!["dead_letter_queue_arn"], problem));
    }
    out
}

/// What is wrong with a configured retry policy: `(Some(field), message)`, or `(None, message)` for a rule
/// over several fields.
pub(super) fn retry_problems(r: &RetryState) -> Vec<(Option<&'static str>, String)> {
    let d = RetryPolicy::klaxon_default();
    // Left out = default; unknown = None.
    let field = |v: &Value<i64>, default: i64| match v {
        Value::Known(n) => Some(*n),
        Value::Null => Some(default),
        Value::Unknown => None,
    };
    let retries = field(&r.num_retries, d.num_retries);
    let no_delay = field(&r.num_no_delay_retries, d.num_no_delay_retries);
    let min_delay = field(&r.num_min_delay_retries, d.num_min_delay_retries);
    let max_delay = field(&r.num_max_delay_retries, d.num_max_delay_retries);
    let min = field(&r.min_delay_target, d.min_delay_target);
    let max = field(&r.max_delay_target, d.max_delay_target);

    let mut out = Vec::new();
    if let Some(n) = retries
        && !(0..=MAX_RETRIES).contains(&n)
    {
        out.push((
            Some("num_retries"),
            format!("must be 0 to {MAX_RETRIES} (SNS's limit), got {n}"),
        ));
    }
    for (name, v) in [
        ("num_no_delay_retries", no_delay),
        ("num_min_delay_retries", min_delay),
        ("num_max_delay_retries", max_delay),
    ] {
        if let Some(n) = v
            && n < 0
        {
            out.push((Some(name), format!("must be 0 or more, got {n}")));
        }
    }
    if let Some(n) = min
        && n < 1
    {
        out.push((
            Some("min_delay_target"),
            format!("must be at least 1 second, got {n}"),
        ));
    }
    if let Some(n) = max
        && !(1..=MAX_POLICY_SECONDS).contains(&n)
    {
        out.push((
            Some("max_delay_target"),
            format!("must be 1 to {MAX_POLICY_SECONDS} seconds, got {n}"),
        ));
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        out.push((
            Some("min_delay_target"),
            format!("must not exceed max_delay_target: {lo} > {hi}"),
        ));
    }
    if let Value::Known(f) = &r.backoff_function
        && !BACKOFF_FUNCTIONS.contains(&f.as_str())
    {
        out.push((
            Some("backoff_function"),
            format!(
                "{f:?} is not a backoff function; use one of {}",
                BACKOFF_FUNCTIONS.join(", ")
            ),
        ));
    }
    let (Some(retries), Some(no_delay), Some(min_delay), Some(max_delay), Some(min), Some(max)) =
        (retries, no_delay, min_delay, max_delay, min, max)
    else {
        return out;
    };
    if !out.is_empty() {
        return out;
    }
    let phases = no_delay + min_delay + max_delay;
    if phases > retries {
        out.push((
            Some("num_retries"),
            format!(
                "must be at least num_no_delay_retries + num_min_delay_retries + num_max_delay_retries \
                 ({no_delay} + {min_delay} + {max_delay} = {phases}), got {retries}"
            ),
        ));
        return out;
    }
    let policy = RetryPolicy {
        num_retries: retries,
        num_no_delay_retries: no_delay,
        num_min_delay_retries: min_delay,
        min_delay_target: min,
        max_delay_target: max,
        num_max_delay_retries: max_delay,
        backoff_function: d.backoff_function,
    };
    let worst = policy.worst_case_seconds();
    if worst > MAX_POLICY_SECONDS {
        out.push((
            None,
            format!(
                "the retries could take up to {worst} s ({min_delay} × {min} s + {} × {max} s, every backoff \
                 retry counted at max_delay_target), over the {MAX_POLICY_SECONDS} s SNS allows an HTTP/S \
                 policy; lower num_retries or max_delay_target",
                retries - no_delay - min_delay
            ),
        ));
    }
    out
}

/// What is wrong with a dead-letter queue ARN (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`), including a region or
/// account other than the topic's (SNS requires the queue in the subscription's account and region).
pub(super) fn queue_problem(arn: &str, topic_arn: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let well_formed = match parts.as_slice() {
        ["arn", partition, "sqs", region, account, name] => {
            partition.starts_with("aws")
                && !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && queue_name_ok(name)
        }
        _ => false,
    };
    if !well_formed {
        return Some(format!(
            "{arn:?} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME)"
        ));
    }
    let topic: Vec<&str> = topic_arn?.split(':').collect();
    match (topic.as_slice(), parts.as_slice()) {
        ([_, _, _, t_region, t_account, ..], [_, _, _, q_region, q_account, _])
            if (t_region, t_account) != (q_region, q_account) =>
        {
            Some(format!(
                "the queue is in {q_region}/{q_account} but the topic in {t_region}/{t_account}; SNS needs the \
                 dead-letter queue in the subscription's account and region"
            ))
        }
        _ => None,
    }
}

/// An SQS queue name: 1 to 80 letters, digits, `-` and `_`, a FIFO queue's ending in `.fifo` (counted).
pub(super) fn queue_name_ok(name: &str) -> bool {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    !stem.is_empty()
        && name.len() <= 80
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
