//! `klaxon_sns_subscription` with the real `terraform`, a real `klaxon serve` and moto as the SNS API:
//! subscribe, quiet plan, import, unsubscribe outside terraform then plan a create, destroy unsubscribes; the
//! delivery policy and dead-letter queue: read back, updated in place, drift, validation.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use klaxon_tests::{Server, moto::Moto, terraform::Terraform};

/// An SNS client of moto, for setting up topics and checking what terraform did.
fn sns(moto: &Moto, rt: &tokio::runtime::Runtime) -> aws_sdk_sns::Client {
    let config = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&moto.url)
            .credentials_provider(aws_sdk_sns::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load(),
    );
    aws_sdk_sns::Client::new(&config)
}

fn subscriptions(
    sns: &aws_sdk_sns::Client,
    rt: &tokio::runtime::Runtime,
    topic: &str,
) -> Vec<(String, String)> {
    let out = rt
        .block_on(sns.list_subscriptions_by_topic().topic_arn(topic).send())
        .unwrap();
    out.subscriptions()
        .iter()
        .map(|s| {
            (
                s.subscription_arn().unwrap_or_default().to_owned(),
                s.endpoint().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn subscribes_reads_imports_and_unsubscribes() {
    let Some(moto) = Moto::start() else { return };
    let server = Server::start_sqlite();
    let token = server.create_account("sns");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = sns(&moto, &rt);
    let topic = rt
        .block_on(client.create_topic().name("alarms").send())
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let mut tf = Terraform::new(&server.url, &token);
    for (k, v) in moto.env() {
        tf.env(k, &v);
    }
    tf.write(&format!(
        r#"
terraform {{
  required_providers {{
    klaxon = {{ source = "klaxon/klaxon" }}
  }}
}}
provider "klaxon" {{
  aws {{
    region       = "eu-west-1"
    endpoint_url = "{moto}"
  }}
}}
resource "klaxon_team" "sre" {{
  name          = "sre"
  slack_channel = "C0123ABCDE"
}}
resource "klaxon_endpoint" "aws" {{
  team_id            = klaxon_team.sre.id
  name               = "aws"
  allowed_topic_arns = ["{topic}"]
}}
resource "klaxon_sns_subscription" "alarms" {{
  topic_arn   = "{topic}"
  endpoint_id = klaxon_endpoint.aws.id
}}
output "subscription_arn" {{ value = klaxon_sns_subscription.alarms.subscription_arn }}
output "endpoint_id" {{ value = klaxon_endpoint.aws.id }}
"#,
        moto = moto.url
    ));
    tf.apply();
    tf.assert_quiet();
    let arn = tf.output("subscription_arn");
    let subs = subscriptions(&client, &rt, &topic);
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(subs[0].0, arn);
    assert!(
        subs[0].1.contains("/ingest/ing_"),
        "the endpoint's sns_url: {subs:?}"
    );

    // Import by subscription ARN round-trips.
    tf.ok(&["state", "rm", "klaxon_sns_subscription.alarms"]);
    tf.ok(&["import", "-no-color", "klaxon_sns_subscription.alarms", &arn]);
    tf.assert_quiet();

    // Unsubscribed in AWS: the next plan creates it again.
    rt.block_on(client.unsubscribe().subscription_arn(&arn).send())
        .unwrap();
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        plan.contains("klaxon_sns_subscription.alarms will be created"),
        "{plan}"
    );
    tf.apply();
    tf.assert_quiet();
    assert_eq!(subscriptions(&client, &rt, &topic).len(), 1);

    // Destroy unsubscribes.
    tf.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(subscriptions(&client, &rt, &topic).is_empty());
}

/// The newcomer's path of `docs/index.md`: the full example stack, as committed, applies against a real
/// `klaxon serve` (with moto standing in for SNS), plans no changes, and destroys cleanly.
#[test]
fn full_stack_example_applies() {
    let Some(moto) = Moto::start() else { return };
    let server = Server::start_sqlite();
    let token = server.create_account("stack");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = sns(&moto, &rt);
    let topic = rt
        .block_on(client.create_topic().name("stack-alarms").send())
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let mut tf = Terraform::new(&server.url, &token);
    for (k, v) in moto.env() {
        tf.env(k, &v);
    }
    let stack =
        std::fs::read_to_string(klaxon_tests::workspace_root().join("examples/stacks/full/main.tf")).unwrap();
    tf.write(&stack);
    tf.write_file(
        "terraform.tfvars",
        &format!(
            "klaxon_endpoint = \"{}\"\ntopic_arn = \"{topic}\"\naws_endpoint_url = \"{}\"\n",
            server.url, moto.url
        ),
    );
    let out = tf.apply();
    assert!(out.contains("Apply complete!"), "{out}");
    tf.assert_quiet();
    assert_eq!(subscriptions(&client, &rt, &topic).len(), 1);
    tf.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(subscriptions(&client, &rt, &topic).is_empty());
}

/// The subscription's attributes as moto holds them.
fn attributes(
    sns: &aws_sdk_sns::Client,
    rt: &tokio::runtime::Runtime,
    arn: &str,
) -> std::collections::HashMap<String, String> {
    rt.block_on(sns.get_subscription_attributes().subscription_arn(arn).send())
        .unwrap()
        .attributes
        .unwrap_or_default()
}

/// A JSON attribute as a value (`null` when absent or empty), for comparisons that ignore formatting.
fn json_attribute(attrs: &std::collections::HashMap<String, String>, name: &str) -> serde_json::Value {
    match attrs.get(name).map(String::as_str) {
        None | Some("") => serde_json::Value::Null,
        Some(text) => serde_json::from_str(text).unwrap(),
    }
}

/// The configuration of the delivery-policy test: one subscription with `extra` inside its block.
fn policy_config(moto: &Moto, topic: &str, extra: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    klaxon = {{ source = "klaxon/klaxon" }}
  }}
}}
provider "klaxon" {{
  aws {{
    region       = "eu-west-1"
    endpoint_url = "{moto}"
  }}
}}
resource "klaxon_team" "sre" {{
  name          = "sre"
  slack_channel = "C0123ABCDE"
}}
resource "klaxon_endpoint" "aws" {{
  team_id            = klaxon_team.sre.id
  name               = "aws"
  allowed_topic_arns = ["{topic}"]
}}
resource "klaxon_sns_subscription" "alarms" {{
  topic_arn   = "{topic}"
  endpoint_id = klaxon_endpoint.aws.id
{extra}
}}
output "subscription_arn" {{ value = klaxon_sns_subscription.alarms.subscription_arn }}
"#,
        moto = moto.url
    )
}

/// SNS never drops an alarm silently: the subscription carries a delivery policy (retries over the hour, a
/// throttle at the ingest rate) that reads back from SNS without a diff, changes in place, shows drift made
/// outside terraform, attaches a dead-letter queue, and refuses bad values at plan time without touching SNS.
#[test]
fn delivery_policy_and_dead_letter_queue() {
    let Some(moto) = Moto::start() else { return };
    let server = Server::start_sqlite();
    let token = server.create_account("sns-policy");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = sns(&moto, &rt);
    let topic = rt
        .block_on(client.create_topic().name("alarms").send())
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    // The queue is only named: moto does not check that a RedrivePolicy's queue exists.
    let dlq = topic.replace(":sns:", ":sqs:").replace(":alarms", ":klaxon-dlq");
    let mut tf = Terraform::new(&server.url, &token);
    for (k, v) in moto.env() {
        tf.env(k, &v);
    }

    // Defaults: written at subscribe, read back without a diff.
    tf.write(&policy_config(&moto, &topic, ""));
    tf.apply();
    let arn = tf.output("subscription_arn");
    let attrs = attributes(&client, &rt, &arn);
    assert_eq!(
        json_attribute(&attrs, "DeliveryPolicy"),
        serde_json::json!({
            "healthyRetryPolicy": {
                "numRetries": 60, "numNoDelayRetries": 0, "numMinDelayRetries": 3, "minDelayTarget": 5,
                "maxDelayTarget": 60, "numMaxDelayRetries": 47, "backoffFunction": "exponential"
            },
            "throttlePolicy": {"maxReceivesPerSecond": 50}
        }),
        "{attrs:?}"
    );
    assert_eq!(json_attribute(&attrs, "RedrivePolicy"), serde_json::Value::Null);
    tf.assert_quiet();

    // Overrides and a dead-letter queue change the subscription in place.
    tf.write(&policy_config(
        &moto,
        &topic,
        &format!(
            r#"  throttle_policy = {{ max_receives_per_second = 10 }}
  retry_policy = {{
    num_retries           = 20
    num_max_delay_retries = 5
    max_delay_target      = 120
    backoff_function      = "linear"
  }}
  dead_letter_queue_arn = "{dlq}""#
        ),
    ));
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        plan.contains("klaxon_sns_subscription.alarms will be updated in-place"),
        "{plan}"
    );
    tf.apply();
    assert_eq!(tf.output("subscription_arn"), arn, "updated, not replaced");
    let attrs = attributes(&client, &rt, &arn);
    let policy = json_attribute(&attrs, "DeliveryPolicy");
    assert_eq!(policy["healthyRetryPolicy"]["numRetries"], 20, "{policy}");
    assert_eq!(policy["healthyRetryPolicy"]["maxDelayTarget"], 120, "{policy}");
    assert_eq!(
        policy["healthyRetryPolicy"]["minDelayTarget"], 5,
        "defaults stay: {policy}"
    );
    assert_eq!(
        policy["healthyRetryPolicy"]["backoffFunction"], "linear",
        "{policy}"
    );
    assert_eq!(policy["throttlePolicy"]["maxReceivesPerSecond"], 10, "{policy}");
    assert_eq!(
        json_attribute(&attrs, "RedrivePolicy"),
        serde_json::json!({ "deadLetterTargetArn": dlq })
    );
    tf.assert_quiet();

    // The same policy reformatted outside terraform is no change; another policy is drift, planned back.
    let set = |name: &str, value: &str| {
        rt.block_on(
            client
                .set_subscription_attributes()
                .subscription_arn(&arn)
                .attribute_name(name)
                .attribute_value(value)
                .send(),
        )
        .unwrap();
    };
    let mut reformatted = serde_json::to_string_pretty(&policy).unwrap();
    reformatted = reformatted.replace("\"linear\"", "\"LINEAR\"");
    set("DeliveryPolicy", &reformatted);
    tf.assert_quiet();
    set("DeliveryPolicy", r#"{"healthyRetryPolicy":{"numRetries":3}}"#);
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        plan.contains("klaxon_sns_subscription.alarms will be updated in-place"),
        "{plan}"
    );
    assert!(plan.contains("max_receives_per_second = 10"), "{plan}");
    tf.apply();
    assert_eq!(
        json_attribute(&attributes(&client, &rt, &arn), "DeliveryPolicy"),
        policy
    );
    tf.assert_quiet();

    // Bad values fail the plan at their attribute, and SNS is left alone.
    let before = attributes(&client, &rt, &arn);
    for (extra, expected) in [
        (
            "  retry_policy = {\n    min_delay_target = 90\n    max_delay_target = 30\n  }",
            "min_delay_target = 90",
        ),
        ("  retry_policy = { num_retries = 101 }", "num_retries = 101"),
        (
            "  retry_policy = {\n    num_retries           = 100\n    num_max_delay_retries = 90\n  }",
            "over the 3600 s",
        ),
        (
            "  dead_letter_queue_arn = \"arn:aws:sqs:eu-west-1:klaxon-dlq\"",
            "is not an SQS queue ARN",
        ),
    ] {
        tf.write(&policy_config(&moto, &topic, extra));
        let out = tf.run(&["plan", "-no-color"]);
        let text = klaxon_tests::terraform::text(&out);
        assert!(!out.status.success(), "{extra}: {text}");
        assert!(text.contains("Invalid value for"), "{extra}: {text}");
        assert!(text.contains(expected), "{extra}: {text}");
        assert!(text.contains("klaxon_sns_subscription.alarms"), "{extra}: {text}");
    }
    assert_eq!(attributes(&client, &rt, &arn), before);

    // Without the queue and the overrides: RedrivePolicy is detached and the defaults come back.
    tf.write(&policy_config(&moto, &topic, ""));
    tf.apply();
    let attrs = attributes(&client, &rt, &arn);
    assert_eq!(json_attribute(&attrs, "RedrivePolicy"), serde_json::Value::Null);
    assert_eq!(
        json_attribute(&attrs, "DeliveryPolicy")["healthyRetryPolicy"]["numRetries"],
        60
    );
    tf.assert_quiet();
    tf.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(subscriptions(&client, &rt, &topic).is_empty());
}
