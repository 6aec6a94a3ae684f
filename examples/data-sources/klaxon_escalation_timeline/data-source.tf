data "klaxon_team" "payments" {
  name = "payments"
}

data "klaxon_escalation_policy" "day" {
  team_id = data.klaxon_team.payments.id
  name    = "day"
}

# Who is paged when for the alerts of this policy (`endpoint_id` or `team_id` work too).
data "klaxon_escalation_timeline" "day" {
  escalation_policy_id = data.klaxon_escalation_policy.day.id
}

# Fails the plan's checks (a warning) when an edit makes the first DM later than 10 minutes.
check "someone_is_paged_within_10_minutes" {
  assert {
    condition     = coalesce(data.klaxon_escalation_timeline.day.first_dm_minute, 1e9) <= 10
    error_message = "Nobody is DMed in the first 10 minutes: ${join("; ", data.klaxon_escalation_timeline.day.lines)}"
  }
}

output "paging_timeline" {
  value = data.klaxon_escalation_timeline.day.lines
}
