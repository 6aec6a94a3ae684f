resource "klaxon_team" "sre" {
  name          = "sre"
  slack_channel = "C0123ABCDE"
}

resource "klaxon_escalation_policy" "backups" {
  team_id = klaxon_team.sre.id
  name    = "backups"
  steps = [
    { notify = "random_member", escalate_after_minutes = 15 },
    { notify = "here" },
  ]
}

# The nightly backup pings at the end of every run; an alert opens when no ping came for 25 hours.
resource "klaxon_heartbeat" "nightly_backup" {
  team_id              = klaxon_team.sre.id
  escalation_policy_id = klaxon_escalation_policy.backups.id
  name                 = "nightly-backup"
  interval_minutes     = 1440
  grace_minutes        = 60
}

# Give the URL to the job (e.g. `curl -fsS -X POST "$PING_URL"` as its last step).
output "backup_ping_url" {
  value     = klaxon_heartbeat.nightly_backup.ping_url
  sensitive = true
}
