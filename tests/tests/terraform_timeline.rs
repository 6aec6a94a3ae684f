//! The escalation timeline in `terraform plan`, with the real `terraform` against a real `klaxon serve`: the
//! policy's computed `timeline` is unknown while its team is, then planned in words; an edit of a delay,
//! `repeat` or `remind_after_minutes` shows the lines before and after; a plan with no edit stays quiet; the
//! `klaxon_escalation_timeline` data source answers the same words by policy, endpoint and team and feeds a
//! `check` block.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use klaxon_tests::{Server, terraform::Terraform};

fn config(after: u32, extra: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    klaxon = {{ source = "klaxon/klaxon" }}
  }}
}}
provider "klaxon" {{}}

resource "klaxon_team" "payments" {{
  name          = "payments"
  slack_channel = "C0PAYMENTS"
  members       = ["U0AAAAAAA", "U0BBBBBBB"]
}}

resource "klaxon_escalation_policy" "day" {{
  team_id = klaxon_team.payments.id
  name    = "day"
  steps = [
    {{ notify = "random_member", escalate_after_minutes = 5 }},
    {{ notify = "user", user = "U0PAYLEAD1", escalate_after_minutes = {after} }},
    {{ notify = "here", escalate_after_minutes = 15 }},
  ]
  {extra}
}}

resource "klaxon_endpoint" "aws" {{
  team_id              = klaxon_team.payments.id
  escalation_policy_id = klaxon_escalation_policy.day.id
  name                 = "aws"
}}

resource "klaxon_endpoint" "plain" {{
  team_id = klaxon_team.payments.id
  name    = "plain"
}}

# Read after the policy's changes are applied, not before (a data source is read at plan time otherwise).
data "klaxon_escalation_timeline" "by_endpoint" {{
  endpoint_id = klaxon_endpoint.aws.id
  depends_on  = [klaxon_escalation_policy.day]
}}

data "klaxon_escalation_timeline" "default" {{
  endpoint_id = klaxon_endpoint.plain.id
}}

data "klaxon_escalation_timeline" "team" {{
  team_id = klaxon_team.payments.id
}}

check "someone_is_paged_within_10_minutes" {{
  assert {{
    condition     = data.klaxon_escalation_timeline.by_endpoint.first_dm_minute <= 10
    error_message = "nobody is DMed in the first 10 minutes"
  }}
}}

output "timeline"  {{ value = join("\n", klaxon_escalation_policy.day.timeline) }}
output "by_endpoint" {{ value = join("\n", data.klaxon_escalation_timeline.by_endpoint.lines) }}
output "default"   {{ value = "${{data.klaxon_escalation_timeline.default.source}}: ${{join("\n", data.klaxon_escalation_timeline.default.lines)}}" }}
output "team_same" {{ value = jsonencode(data.klaxon_escalation_timeline.team.lines == data.klaxon_escalation_timeline.default.lines) }}
output "entries"   {{ value = length(data.klaxon_escalation_timeline.by_endpoint.entries) }}
output "third"     {{ value = data.klaxon_escalation_timeline.by_endpoint.entries[2].text }}
"#
    )
}

/// The lines of `~ timeline = [ ... ]` in a plan: what a reviewer reads.
fn timeline_diff(plan: &str) -> String {
    let start = plan
        .find("~ timeline")
        .expect("the plan shows the timeline change");
    let rest = &plan[start..];
    let end = rest.find("\n        ]").map_or(rest.len(), |i| i + 10);
    rest[..end].to_owned()
}

#[test]
fn a_policy_edit_shows_the_timeline_before_and_after_in_words() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let tf = Terraform::new(&server.url, &token);

    // The team does not exist yet: its name and channel are not known, so neither are the words.
    tf.write(&config(10, ""));
    let (code, first) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        first
            .lines()
            .any(|l| l.trim_start().starts_with("+ timeline") && l.ends_with("= (known after apply)")),
        "{first}"
    );
    tf.apply();
    assert_eq!(
        tf.output("timeline"),
        "0 min: DM a random active member of payments\n5 min: DM U0PAYLEAD1\n15 min: @here in C0PAYMENTS"
    );
    assert_eq!(tf.output("by_endpoint"), tf.output("timeline"));
    assert_eq!(
        tf.output("default"),
        "default: 0 min: DM a random active member of payments\n5 min: DM another random active member of \
         payments\n10 min: @here in C0PAYMENTS\n15 min: @channel in C0PAYMENTS"
    );
    assert_eq!(tf.output("team_same"), "true");
    assert_eq!(tf.output("entries"), "3");
    assert_eq!(tf.output("third"), "@here in C0PAYMENTS");
    tf.assert_quiet();

    // One delay longer, the chain repeated twice, reminders on: the plan says what changes for whom.
    tf.write(&config(20, "repeat = 2\n  remind_after_minutes = 30"));
    let (code, plan) = tf.plan();
    assert_eq!(code, 2, "{plan}");
    let diff = timeline_diff(&plan);
    println!("The plan of the edit shows:\n{diff}");
    for line in [
        r#"- "15 min: @here in C0PAYMENTS","#,
        r#"+ "25 min: @here in C0PAYMENTS","#,
        r#"+ "then again from minute 40, twice","#,
        r#"+ "once acknowledged: remind the acknowledger every 30 min until closed","#,
        r#""5 min: DM U0PAYLEAD1","#,
    ] {
        assert!(diff.contains(line), "missing {line:?} in:\n{diff}");
    }
    assert!(
        plan.contains("1 to change"),
        "an in-place update of the policy: {plan}"
    );
    tf.apply();
    tf.assert_quiet();
    assert!(
        tf.output("by_endpoint").ends_with("until closed"),
        "the data source reads the stored policy"
    );

    // A delay that makes the first DM late fails the check (a warning, as Terraform's checks are).
    tf.write(
        &config(20, "")
            .replace(
                r#"{ notify = "random_member", escalate_after_minutes = 5 },"#,
                r#"{ notify = "here", escalate_after_minutes = 12 },"#,
            )
            .replace(
                r#"notify = "here", escalate_after_minutes = 15"#,
                r#"notify = "channel""#,
            ),
    );
    let out = tf.apply();
    assert!(
        out.contains("nobody is DMed in the first 10 minutes"),
        "the check block sees the timeline: {out}"
    );
    tf.assert_quiet();
}

#[test]
fn bad_reminders_and_lookups_fail_at_plan_with_the_attribute_path() {
    let server = Server::start_sqlite();
    let token = server.create_account("tf");
    let tf = Terraform::new(&server.url, &token);
    tf.write(&config(10, "remind_after_minutes = 0"));
    let out = tf.run(&["plan", "-no-color"]);
    let text = klaxon_tests::terraform::text(&out);
    assert!(!out.status.success());
    assert!(text.contains("remind_after_minutes"), "{text}");
    assert!(text.contains("between 1 and 1440"), "{text}");

    tf.write(&config(10, "").replace(
        "data \"klaxon_escalation_timeline\" \"team\" {\n  team_id = klaxon_team.payments.id\n}",
        "data \"klaxon_escalation_timeline\" \"team\" {\n  team_id = klaxon_team.payments.id\n  endpoint_id = klaxon_endpoint.plain.id\n}",
    ));
    let out = tf.run(&["plan", "-no-color"]);
    let text = klaxon_tests::terraform::text(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("set exactly one of team_id, endpoint_id, escalation_policy_id"),
        "{text}"
    );
}
