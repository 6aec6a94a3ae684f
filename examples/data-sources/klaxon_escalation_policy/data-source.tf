data "klaxon_team" "sre" {
  name = "sre"
}

# A policy is found by its team and name.
data "klaxon_escalation_policy" "business_hours" {
  team_id = data.klaxon_team.sre.id
  name    = "business-hours"
}

resource "klaxon_endpoint" "batch" {
  team_id              = data.klaxon_team.sre.id
  escalation_policy_id = data.klaxon_escalation_policy.business_hours.id
  name                 = "batch-jobs"
}
