//! The delivery policy's defaults, JSON round trip and checks, without AWS.

use super::{delivery_policy::*, *};

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:alarms";

fn config() -> SubscriptionState {
    SubscriptionState {
        id: Value::Null,
        topic_arn: Value::Known(TOPIC.into()),
        endpoint_id: Value::Known("end_1".into()),
        subscription_arn: Value::Null,
        confirmed: Value::Null,
        throttle_policy: Value::Null,
        retry_policy: Value::Null,
        dead_letter_queue_arn: Value::Null,
    }
}

fn retry(f: impl FnOnce(&mut RetryState)) -> RetryState {
    let mut r = RetryState {
        num_retries: Value::Null,
        num_no_delay_retries: Value::Null,
        num_min_delay_retries: Value::Null,
        min_delay_target: Value::Null,
        max_delay_target: Value::Null,
        num_max_delay_retries: Value::Null,
        backoff_function: Value::Null,
    };
    f(&mut r);
    r
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn default_policy_json_retries_for_the_hour_at_the_ingest_rate() {
    let c = config();
    let plan = planned(c.clone(), &c);
    let policy = policy_of(&plan);
    assert_eq!(
        json(&policy.to_json()),
        json(
            r#"{"healthyRetryPolicy":{"numRetries":60,"numNoDelayRetries":0,"numMinDelayRetries":3,
                "minDelayTarget":5,"maxDelayTarget":60,"numMaxDelayRetries":47,"backoffFunction":"exponential"},
                "throttlePolicy":{"maxReceivesPerSecond":50}}"#
        )
    );
    // The documented bounds: at least every backoff retry at the minimum, at most every one at the maximum.
    let r = &policy.retry;
    let backoff = r.num_retries - r.num_no_delay_retries - r.num_min_delay_retries - r.num_max_delay_retries;
    let best = r.num_min_delay_retries * r.min_delay_target
        + backoff * r.min_delay_target
        + r.num_max_delay_retries * r.max_delay_target;
    assert_eq!((best / 60, r.worst_case_seconds() / 60), (48, 57));
    assert!(r.worst_case_seconds() <= MAX_POLICY_SECONDS);
    assert!(
        retry_problems(&retry(|_| {})).is_empty(),
        "the defaults pass validation"
    );
    // Planned state carries every default, so the plan shows them.
    assert_eq!(plan.retry_policy, retry_state(&RetryPolicy::klaxon_default()));
    assert_eq!(
        plan.throttle_policy,
        Value::Known(ThrottleState {
            max_receives_per_second: Value::Known(50)
        })
    );
}

#[test]
fn overrides_replace_only_their_fields() {
    let mut c = config();
    c.throttle_policy = Value::Known(ThrottleState {
        max_receives_per_second: Value::Known(10),
    });
    c.retry_policy = Value::Known(retry(|r| {
        r.num_retries = Value::Known(20);
        r.max_delay_target = Value::Known(120);
        r.backoff_function = Value::Known("linear".into());
    }));
    let policy = policy_of(&planned(c.clone(), &c));
    assert_eq!(
        json(&policy.to_json()),
        json(
            r#"{"healthyRetryPolicy":{"numRetries":20,"numNoDelayRetries":0,"numMinDelayRetries":3,
                "minDelayTarget":5,"maxDelayTarget":120,"numMaxDelayRetries":47,"backoffFunction":"linear"},
                "throttlePolicy":{"maxReceivesPerSecond":10}}"#
        )
    );

    // A field removed from the configuration plans its default, not the prior value the proposal kept.
    let mut proposed = c.clone();
    proposed.retry_policy = Value::Known(retry(|r| {
        r.num_retries = Value::Known(20);
        r.max_delay_target = Value::Known(120);
        r.backoff_function = Value::Known("linear".into());
    }));
    let mut without = c;
    without.retry_policy = Value::Known(retry(|r| r.num_retries = Value::Known(20)));
    let plan = planned(proposed, &without);
    assert_eq!(policy_of(&plan).retry.max_delay_target, 60);
    assert_eq!(policy_of(&plan).retry.backoff_function, "exponential");

    // Unknown configuration stays unknown until apply.
    let mut unknown = config();
    unknown.retry_policy = Value::Known(retry(|r| r.num_retries = Value::Unknown));
    unknown.throttle_policy = Value::Unknown;
    let plan = planned(unknown.clone(), &unknown);
    assert!(plan.throttle_policy.is_unknown());
    let Value::Known(r) = plan.retry_policy else {
        panic!()
    };
    assert!(r.num_retries.is_unknown());
    assert_eq!(r.min_delay_target, Value::Known(5));
}

#[test]
fn read_back_compares_values_not_text() {
    let written = policy_of(&planned(config(), &config()));
    // What SNS may send back: other key order, spacing, numbers as strings, extra keys, upper-case function.
    let reformatted = r#"{ "throttlePolicy": {"maxReceivesPerSecond": "50"}, "guaranteed": false,
        "healthyRetryPolicy": {"backoffFunction": "EXPONENTIAL", "numMaxDelayRetries": 47.0,
        "maxDelayTarget": 60, "minDelayTarget": 5, "numMinDelayRetries": 3, "numNoDelayRetries": 0,
        "numRetries": 60}, "sicklyRetryPolicy": null }"#;
    assert_eq!(DeliveryPolicy::from_json(Some(reformatted)), written);
    assert_eq!(DeliveryPolicy::from_json(Some(&written.to_json())), written);

    // No policy at all is SNS's own: 3 retries 20 s apart, no throttle. It differs from the plan: drift.
    let none = DeliveryPolicy::from_json(None);
    assert_eq!(none.retry.num_retries, 3);
    assert_eq!(
        (none.retry.min_delay_target, none.retry.max_delay_target),
        (20, 20)
    );
    assert_eq!(none.max_receives_per_second, None);
    assert_eq!(DeliveryPolicy::from_json(Some("")), none);
    assert_eq!(
        throttle_state(&none),
        Value::Known(ThrottleState {
            max_receives_per_second: Value::Null
        })
    );

    // A change outside terraform reads as that change.
    let edited = written.to_json().replace("\"numRetries\":60", "\"numRetries\":3");
    assert_eq!(DeliveryPolicy::from_json(Some(&edited)).retry.num_retries, 3);
}

#[test]
fn dead_letter_queue_is_a_redrive_policy() {
    let arn = "arn:aws:sqs:eu-west-1:123456789012:klaxon-dlq";
    let policy = redrive_policy(Some(arn));
    assert_eq!(
        json(&policy),
        json(r#"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:123456789012:klaxon-dlq"}"#)
    );
    assert_eq!(dead_letter_target(Some(&policy)).as_deref(), Some(arn));
    assert_eq!(redrive_policy(None), "");
    assert_eq!(dead_letter_target(Some("")), None);
    assert_eq!(dead_letter_target(None), None);

    let attrs = HashMap::from([
        ("RedrivePolicy".to_owned(), policy),
        ("PendingConfirmation".to_owned(), "false".to_owned()),
    ]);
    let state = flatten("arn:sub".into(), Value::Known(TOPIC.into()), Value::Null, &attrs);
    assert_eq!(state.dead_letter_queue_arn, Value::Known(arn.to_owned()));
    assert_eq!(state.confirmed, Value::Known(true));
}

#[test]
fn bad_values_are_named_at_their_paths() {
    let at = |c: &SubscriptionState| -> Vec<String> {
        problems(c).into_iter().map(|(p, _)| p.join(".")).collect()
    };

    let mut c = config();
    c.retry_policy = Value::Known(retry(|r| {
        r.min_delay_target = Value::Known(90);
    }));
    assert_eq!(
        at(&c),
        ["retry_policy.min_delay_target"],
        "min above the default max"
    );

    c.retry_policy = Value::Known(retry(|r| r.num_retries = Value::Known(101)));
    assert_eq!(at(&c), ["retry_policy.num_retries"]);

    c.retry_policy = Value::Known(retry(|r| {
        r.max_delay_target = Value::Known(3601);
        r.min_delay_target = Value::Known(0);
        r.num_no_delay_retries = Value::Known(-1);
        r.backoff_function = Value::Known("Exponential".into());
    }));
    assert_eq!(
        at(&c),
        [
            "retry_policy.num_no_delay_retries",
            "retry_policy.min_delay_target",
            "retry_policy.max_delay_target",
            "retry_policy.backoff_function"
        ]
    );

    // Phases beyond the total.
    c.retry_policy = Value::Known(retry(|r| r.num_retries = Value::Known(40)));
    assert_eq!(at(&c), ["retry_policy.num_retries"]);

    // Over the hour even though every field is in range: 100 retries, 97 of them up to a minute.
    c.retry_policy = Value::Known(retry(|r| {
        r.num_retries = Value::Known(100);
        r.num_max_delay_retries = Value::Known(80);
    }));
    let found = problems(&c);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, ["retry_policy"]);
    assert!(found[0].1.contains("5835 s"), "{}", found[0].1);

    // Exactly the hour is allowed; unknown fields skip the rules they are in.
    c.retry_policy = Value::Known(retry(|r| {
        r.num_retries = Value::Known(60);
        r.num_min_delay_retries = Value::Known(0);
        r.num_max_delay_retries = Value::Known(50);
    }));
    assert!(at(&c).is_empty());
    c.retry_policy = Value::Known(retry(|r| {
        r.num_retries = Value::Unknown;
        r.num_max_delay_retries = Value::Known(99);
    }));
    assert!(at(&c).is_empty());

    c.retry_policy = Value::Null;
    c.throttle_policy = Value::Known(ThrottleState {
        max_receives_per_second: Value::Known(0),
    });
    assert_eq!(at(&c), ["throttle_policy.max_receives_per_second"]);

    c.throttle_policy = Value::Null;
    for bad in [
        "klaxon-dlq",
        "arn:aws:sns:eu-west-1:123456789012:klaxon-dlq",
        "arn:aws:sqs:eu-west-1:12345:klaxon-dlq",
        "arn:aws:sqs:eu-west-1:123456789012:has space",
        "arn:aws:sqs:eu-west-1:123456789012:",
    ] {
        c.dead_letter_queue_arn = Value::Known(bad.into());
        assert_eq!(at(&c), ["dead_letter_queue_arn"], "{bad}");
    }
    c.dead_letter_queue_arn = Value::Known("arn:aws:sqs:us-east-1:123456789012:klaxon-dlq".into());
    assert!(
        problems(&c)[0].1.contains("region"),
        "another region than the topic's"
    );
    for good in [
        "arn:aws:sqs:eu-west-1:123456789012:klaxon-dlq",
        "arn:aws:sqs:eu-west-1:123456789012:klaxon_dlq.fifo",
    ] {
        c.dead_letter_queue_arn = Value::Known(good.into());
        assert!(at(&c).is_empty(), "{good}");
    }
}
