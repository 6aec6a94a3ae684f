//! `klaxon_sns_subscription` with the real `terraform`, a real `klaxon serve` and moto as the SNS API:
//! subscribe, quiet plan, import, unsubscribe outside terraform then plan a create, destroy unsubscribes.

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
