resource "klaxon_team" "sre" {
  name          = "sre"
  slack_channel = "C0123ABCDE"
  members       = ["U0AAAAAAA", "U0BBBBBBB", "U0CCCCCCC"]
}

# Business hours: the next member on the rota, then the team lead, then the whole channel; whoever
# acknowledges is reminded every 30 minutes until the alert is closed. The plan shows the timeline in words:
#   timeline = [
#     "0 min: DM the next active member of sre in turn",
#     "5 min: DM U0CCCCCCC",
#     "15 min: @channel in C0123ABCDE",
#     "once acknowledged: remind the acknowledger every 30 min until closed",
#   ]
resource "klaxon_escalation_policy" "business_hours" {
  team_id = klaxon_team.sre.id
  name    = "business-hours"
  steps = [
    { notify = "next_member", escalate_after_minutes = 5 },
    { notify = "user", user = "U0CCCCCCC", escalate_after_minutes = 10 },
    { notify = "channel" },
  ]
  skip_inactive        = true
  remind_after_minutes = 30
}

# Nights: keep paging a random member every 15 minutes, three more rounds.
resource "klaxon_escalation_policy" "nights" {
  team_id = klaxon_team.sre.id
  name    = "nights"
  steps = [
    { notify = "random_member", escalate_after_minutes = 15 },
  ]
  repeat = 3
}
