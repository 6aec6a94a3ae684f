resource "klaxon_team" "sre" {
  name          = "sre"
  slack_channel = "C0123ABCDE"
}

resource "klaxon_endpoint" "batch" {
  team_id = klaxon_team.sre.id
  name    = "batch"
}

resource "klaxon_endpoint" "etl" {
  team_id = klaxon_team.sre.id
  name    = "etl"
}

# A one-off window for the team's database upgrade: alerts that open meanwhile are posted, marked, and
# escalate from their first step at 02:00 if still open.
resource "klaxon_maintenance_window" "db_upgrade" {
  team_id     = klaxon_team.sre.id
  starts_at   = "2026-12-05T23:00:00+01:00"
  ends_at     = "2026-12-06T02:00:00+01:00"
  description = "PostgreSQL 17 upgrade"
}

# Every Saturday from 22:00 to midnight, Paris time, for two endpoints only.
resource "klaxon_maintenance_window" "weekly_batch" {
  endpoint_ids = [klaxon_endpoint.batch.id, klaxon_endpoint.etl.id]
  description  = "Weekly batch jobs"

  recurrence {
    cron             = "0 22 * * SAT"
    duration_minutes = 120
    time_zone        = "Europe/Paris"
  }
}
