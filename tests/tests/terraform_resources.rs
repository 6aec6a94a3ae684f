//! The provider with the real `terraform` against a real `klaxon serve`: create, quiet plans, import,
//! in-place updates, drift, validation at plan time, destroy, data sources, scale, and the mirror install path.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use klaxon_api::{Client, ClientConfig, EndpointQuery, PolicyQuery, TeamQuery};
use klaxon_tests::{Server, terraform::Terraform};

const HEADER: &str = r#"
terraform {
  required_providers {
    klaxon = { source = "klaxon/klaxon" }
  }
}
provider "klaxon" {}
"#;

fn stack(steps: &str, members: &str, grouping: &str) -> String {
    format!(
        r#"{HEADER}
resource "klaxon_team" "sre" {{
  name          = "sre"
  slack_channel = "C0123ABCDE"
  members       = {members}
}}

resource "klaxon_escalation_policy" "day" {{
  team_id = klaxon_team.sre.id
  name    = "business-hours"
  steps   = {steps}
}}

resource "klaxon_endpoint" "aws" {{
  team_id              = klaxon_team.sre.id
  escalation_policy_id = klaxon_escalation_policy.day.id
  name                 = "aws-prod"
  allowed_topic_arns   = ["arn:aws:sns:eu-west-1:123456789012:b", "arn:aws:sns:eu-west-1:123456789012:a"]
  {grouping}
}}

output "team_id"     {{ value = klaxon_team.sre.id }}
output "policy_id"   {{ value = klaxon_escalation_policy.day.id }}
output "endpoint_id" {{ value = klaxon_endpoint.aws.id }}
"#
    )
}

const STEPS: &str = r#"[
    { notify = "next_member", escalate_after_minutes = 5 },
    { notify = "user", user = "U0CCCCCCC", escalate_after_minutes = 10 },
    { notify = "here" },
  ]"#;

const STEPS_REORDERED: &str = r#"[
    { notify = "user", user = "U0CCCCCCC", escalate_after_minutes = 10 },
    { notify = "next_member", escalate_after_minutes = 5 },
    { notify = "here" },
  ]"#;

fn client(server: &Server, token: &str) -> Client {
    Client::new(ClientConfig::new(&server.url, token)).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn lifecycle_of_every_resource() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let api = client(&server, &token);
    let rt = rt();
    let tf = Terraform::new(&server.url, &token);

    // Create, then a plan with no changes.
    tf.write(&stack(STEPS, r#"["U0AAAAAAA", "U0BBBBBBB"]"#, ""));
    tf.apply();
    tf.assert_quiet();
    let (team_id, policy_id, endpoint_id) = (
        tf.output("team_id"),
        tf.output("policy_id"),
        tf.output("endpoint_id"),
    );
    let policy = rt.block_on(api.get_policy(&policy_id)).unwrap().unwrap();
    assert_eq!(policy.steps[1].user.as_deref(), Some("U0CCCCCCC"));
    assert!(policy.skip_inactive, "the default is stored");

    // An in-place update changes only what was edited: the URLs stay known, nothing is replaced.
    tf.write(&stack(
        STEPS,
        r#"["U0AAAAAAA", "U0BBBBBBB", "U0DDDDDDD"]"#,
        "alert_grouping_minutes = 60",
    ));
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        plan.contains("Plan: 0 to add, 2 to change, 0 to destroy"),
        "{plan}"
    );
    assert!(plan.contains("+ \"U0DDDDDDD\""), "{plan}");
    assert!(
        plan.contains("~ alert_grouping_minutes") && plan.contains("10080 -> 60"),
        "{plan}"
    );
    assert!(
        !plan.contains("known after apply"),
        "no computed noise on update:\n{plan}"
    );
    tf.apply();
    tf.assert_quiet();
    assert_eq!(tf.output("endpoint_id"), endpoint_id, "updated in place");

    // Reordering two steps shows exactly that diff and keeps the order.
    tf.write(&stack(
        STEPS_REORDERED,
        r#"["U0AAAAAAA", "U0BBBBBBB", "U0DDDDDDD"]"#,
        "alert_grouping_minutes = 60",
    ));
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        plan.contains("Plan: 0 to add, 1 to change, 0 to destroy"),
        "{plan}"
    );
    assert!(
        plan.contains("~ notify") && plan.contains("\"next_member\" -> \"user\""),
        "{plan}"
    );
    tf.apply();
    tf.assert_quiet();
    let policy = rt.block_on(api.get_policy(&policy_id)).unwrap().unwrap();
    assert_eq!(policy.steps[0].notify.as_str(), "user");

    // Import into a fresh state: the same configuration plans no changes beyond the imports.
    let state = std::fs::read_to_string(tf.path("terraform.tfstate")).unwrap();
    tf.remove("terraform.tfstate");
    tf.remove("terraform.tfstate.backup");
    tf.write_file(
        "imports.tf",
        &format!(
            "import {{\n  to = klaxon_team.sre\n  id = \"{team_id}\"\n}}\nimport {{\n  to = klaxon_escalation_policy.day\n  id = \"{policy_id}\"\n}}\nimport {{\n  to = klaxon_endpoint.aws\n  id = \"{endpoint_id}\"\n}}\n"
        ),
    );
    let (_, plan) = tf.plan();
    assert!(
        plan.contains("Plan: 3 to import, 0 to add, 0 to change, 0 to destroy"),
        "{plan}"
    );
    tf.apply();
    tf.remove("imports.tf");
    tf.assert_quiet();
    // `terraform import` (the command) round-trips too.
    std::fs::write(tf.path("terraform.tfstate"), &state).unwrap();
    tf.ok(&["state", "rm", "klaxon_endpoint.aws"]);
    tf.ok(&["import", "-no-color", "klaxon_endpoint.aws", &endpoint_id]);
    tf.assert_quiet();

    // Deleted outside terraform: the next plan creates it again.
    assert!(rt.block_on(api.delete_endpoint(&endpoint_id)).unwrap());
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(plan.contains("klaxon_endpoint.aws will be created"), "{plan}");
    assert!(
        plan.contains("Plan: 1 to add, 0 to change, 0 to destroy"),
        "{plan}"
    );
    tf.apply();
    tf.assert_quiet();

    // Destroy leaves nothing.
    tf.ok(&["destroy", "-auto-approve", "-no-color"]);
    rt.block_on(async {
        assert!(
            api.list_teams(&TeamQuery::default())
                .await
                .unwrap()
                .items
                .is_empty()
        );
        assert!(
            api.list_policies(&PolicyQuery::default())
                .await
                .unwrap()
                .items
                .is_empty()
        );
        assert!(
            api.list_endpoints(&EndpointQuery::default())
                .await
                .unwrap()
                .items
                .is_empty()
        );
    });
}

#[test]
fn invalid_configs_fail_at_plan_with_the_attribute_path() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let api = client(&server, &token);
    let tf = Terraform::new(&server.url, &token);
    let cases = [
        (r#"[{ notify = "pager" }]"#, "\"pager\" is not a notify kind"),
        (
            r#"[{ notify = "here", escalate_after_minutes = 5 }, { notify = "user" }]"#,
            "required when notify is \"user\"",
        ),
        (
            r#"[{ notify = "here", escalate_after_minutes = 0 }]"#,
            "must be between 1 and 1440",
        ),
        (
            r#"[{ notify = "here" }, { notify = "channel" }]"#,
            "required on every step but the last",
        ),
        (
            r#"[{ notify = "here", user = "U0CCCCCCC" }]"#,
            "only allowed when notify is \"user\"",
        ),
    ];
    for (steps, message) in cases {
        tf.write(&stack(steps, "[]", ""));
        let out = tf.run(&["apply", "-auto-approve", "-no-color"]);
        let text = klaxon_tests::terraform::text(&out);
        assert!(!out.status.success(), "apply must fail at its plan for {steps}");
        assert!(text.contains(message), "message {message:?} in:\n{text}");
        // Terraform maps the attribute path onto the configuration and quotes the line.
        assert!(
            text.contains("klaxon_escalation_policy.day") && text.contains("main.tf line"),
            "{text}"
        );
    }
    let bad_team = format!(
        "{HEADER}\nresource \"klaxon_team\" \"x\" {{\n  name = \"x\"\n  slack_channel = \"#general\"\n  members = [\"U0AAAAAAA\", \"bob\"]\n}}\n"
    );
    tf.write(&bad_team);
    let out = tf.run(&["apply", "-auto-approve", "-no-color"]);
    let text = klaxon_tests::terraform::text(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("is not a Slack channel id") && text.contains("is not a Slack user id"),
        "{text}"
    );
    let bad_endpoint = format!(
        "{HEADER}\nresource \"klaxon_endpoint\" \"x\" {{\n  team_id = \"team_x\"\n  name = \"x\"\n  allowed_topic_arns = [\"arn:aws:sqs:eu-west-1:123456789012:q\"]\n  notification_grouping_minutes = 5000\n}}\n"
    );
    tf.write(&bad_endpoint);
    let text = klaxon_tests::terraform::text(&tf.run(&["apply", "-auto-approve", "-no-color"]));
    assert!(
        text.contains("is not an SNS topic ARN") && text.contains("between 0 and 1440"),
        "{text}"
    );
    // Nothing was created by any of them: apply stopped at its plan, before the valid team was created.
    let rt = rt();
    assert!(
        rt.block_on(api.list_teams(&TeamQuery::default()))
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn data_sources_read_by_name() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let tf = Terraform::new(&server.url, &token);
    tf.write(&format!(
        "{}\ndata \"klaxon_team\" \"sre\" {{\n  name = klaxon_team.sre.name\n}}\ndata \"klaxon_escalation_policy\" \"day\" {{\n  team_id = data.klaxon_team.sre.id\n  name = klaxon_escalation_policy.day.name\n}}\noutput \"looked_up\" {{ value = \"${{data.klaxon_team.sre.slack_channel}}/${{data.klaxon_escalation_policy.day.steps[1].user}}/${{data.klaxon_escalation_policy.day.id == klaxon_escalation_policy.day.id}}\" }}\n",
        stack(STEPS, r#"["U0AAAAAAA"]"#, "")
    ));
    tf.apply();
    assert_eq!(tf.output("looked_up"), "C0123ABCDE/U0CCCCCCC/true");
    tf.assert_quiet();
}

/// A reference the plan cannot check (an id that names nothing in the account) fails the apply with the
/// server's reason at the attribute, and the endpoint is not created.
#[test]
fn a_reference_to_a_missing_policy_fails_the_apply_at_the_attribute() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let tf = Terraform::new(&server.url, &token);
    tf.write(&format!(
        r#"{HEADER}
resource "klaxon_team" "sre" {{
  name          = "sre"
  slack_channel = "C0123ABCDE"
}}
resource "klaxon_endpoint" "aws" {{
  team_id              = klaxon_team.sre.id
  escalation_policy_id = "pol_gone"
  name                 = "aws-prod"
}}
"#
    ));
    let out = tf.run(&["apply", "-auto-approve", "-no-color"]);
    let text = klaxon_tests::terraform::text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("no escalation policy \"pol_gone\" in this account")
            && text.contains("(HTTP 422, missing_reference")
            && text.contains("with klaxon_endpoint.aws")
            && text.contains("escalation_policy_id = \"pol_gone\""),
        "{text}"
    );
    let api = client(&server, &token);
    assert!(
        rt().block_on(api.list_endpoints(&EndpointQuery::default()))
            .unwrap()
            .items
            .is_empty()
    );
}

/// An endpoint and a heartbeat looked up from another configuration (the same account): the ids and the
/// secret URLs are those of the objects, and a name that is not there fails the plan saying so.
#[test]
fn endpoint_and_heartbeat_data_sources_read_by_team_and_name() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let owner = Terraform::new(&server.url, &token);
    owner.write(&format!(
        r#"{}
resource "klaxon_heartbeat" "backup" {{
  team_id          = klaxon_team.sre.id
  name             = "nightly-backup"
  interval_minutes = 1440
  grace_minutes    = 30
}}
output "endpoint_url" {{
  value = nonsensitive(klaxon_endpoint.aws.sns_url)
}}
output "ping_url" {{
  value = nonsensitive(klaxon_heartbeat.backup.ping_url)
}}
output "heartbeat_id" {{ value = klaxon_heartbeat.backup.id }}
"#,
        stack(STEPS, r#"["U0AAAAAAA"]"#, "")
    ));
    owner.apply();

    let reader = Terraform::new(&server.url, &token);
    let lookups = |endpoint: &str| {
        format!(
            r#"{HEADER}
data "klaxon_team" "sre" {{
  name = "sre"
}}
data "klaxon_endpoint" "aws" {{
  team_id = data.klaxon_team.sre.id
  name    = "{endpoint}"
}}
data "klaxon_heartbeat" "backup" {{
  team_id = data.klaxon_team.sre.id
  name    = "nightly-backup"
}}
output "endpoint" {{
  value = "${{data.klaxon_endpoint.aws.id}} ${{nonsensitive(data.klaxon_endpoint.aws.sns_url)}} ${{join(",", sort(data.klaxon_endpoint.aws.allowed_topic_arns))}} ${{data.klaxon_endpoint.aws.escalation_policy_id}}"
}}
output "heartbeat" {{
  value = "${{data.klaxon_heartbeat.backup.id}} ${{nonsensitive(data.klaxon_heartbeat.backup.ping_url)}} ${{data.klaxon_heartbeat.backup.interval_minutes}}+${{data.klaxon_heartbeat.backup.grace_minutes}} ${{data.klaxon_heartbeat.backup.paused}}"
}}
"#
        )
    };
    reader.write(&lookups("aws-prod"));
    reader.apply();
    assert_eq!(
        reader.output("endpoint"),
        format!(
            "{} {} arn:aws:sns:eu-west-1:123456789012:a,arn:aws:sns:eu-west-1:123456789012:b {}",
            owner.output("endpoint_id"),
            owner.output("endpoint_url"),
            owner.output("policy_id")
        )
    );
    assert_eq!(
        reader.output("heartbeat"),
        format!(
            "{} {} 1440+30 false",
            owner.output("heartbeat_id"),
            owner.output("ping_url")
        )
    );
    reader.assert_quiet();

    reader.write(&lookups("aws-staging"));
    let out = reader.run(&["plan", "-no-color"]);
    let text = klaxon_tests::terraform::text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("No endpoint named \"aws-staging\""), "{text}");
}

#[test]
fn fifty_teams_with_policies_and_endpoints_in_one_apply() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let tf = Terraform::new(&server.url, &token);
    tf.write(&format!(
        r#"{HEADER}
resource "klaxon_team" "t" {{
  count         = 50
  name          = "team-${{count.index}}"
  slack_channel = "C0123ABCDE"
}}
resource "klaxon_escalation_policy" "p" {{
  count   = 50
  team_id = klaxon_team.t[count.index].id
  name    = "default"
  repeat  = 1
  steps   = [{{ notify = "random_member", escalate_after_minutes = 5 }}, {{ notify = "channel", escalate_after_minutes = 5 }}]
}}
resource "klaxon_endpoint" "e" {{
  count                = 50
  team_id              = klaxon_team.t[count.index].id
  escalation_policy_id = klaxon_escalation_policy.p[count.index].id
  name                 = "webhook"
}}
"#
    ));
    let out = tf.apply();
    assert!(out.contains("150 added, 0 changed, 0 destroyed"), "{out}");
    tf.assert_quiet();
    tf.ok(&["destroy", "-auto-approve", "-no-color"]);
}

#[test]
fn installs_from_a_filesystem_mirror_with_init() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let tf = Terraform::with_mirror(&server.url, &token, "0.1.0");
    tf.write(&format!(
        "{}\nresource \"klaxon_team\" \"a\" {{\n  name = \"a\"\n  slack_channel = \"C0123ABCDE\"\n}}\n",
        HEADER.replace(
            r#"source = "klaxon/klaxon""#,
            r#"source = "klaxon/klaxon", version = "0.1.0""#
        )
    ));
    let init = tf.ok(&["init", "-no-color"]);
    assert!(init.contains("Installing klaxon/klaxon v0.1.0"), "{init}");
    assert!(
        std::fs::read_to_string(tf.path(".terraform.lock.hcl"))
            .unwrap()
            .contains("h1:")
    );
    tf.apply();
    tf.assert_quiet();
}
