# The stack deploying a nightly job reads the ping URL of the heartbeat that watches it.
data "klaxon_team" "sre" {
  name = "sre"
}

data "klaxon_heartbeat" "nightly_backup" {
  team_id = data.klaxon_team.sre.id
  name    = "nightly-backup"
}

# Give it to the job, e.g. as an environment variable; it is sensitive, so plans do not show it.
output "backup_ping_url" {
  value     = data.klaxon_heartbeat.nightly_backup.ping_url
  sensitive = true
}
