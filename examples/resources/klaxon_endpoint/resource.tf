resource "klaxon_team" "sre" {
  name          = "sre"
  slack_channel = "C0123ABCDE"
}

# Without escalation_policy_id the team's default chain escalates.
resource "klaxon_endpoint" "webhooks" {
  team_id = klaxon_team.sre.id
  name    = "uptime-robot"
}

# Only these topics may deliver to sns_url; repeated events join the open alert for a day.
resource "klaxon_endpoint" "aws" {
  team_id = klaxon_team.sre.id
  name    = "aws-prod"
  allowed_topic_arns = [
    "arn:aws:sns:eu-west-1:123456789012:alarms",
    "arn:aws:sns:eu-west-1:123456789012:events",
  ]
  alert_grouping_minutes        = 1440
  notification_grouping_minutes = 1
}

output "webhook_url" {
  value     = klaxon_endpoint.webhooks.url
  sensitive = true
}
