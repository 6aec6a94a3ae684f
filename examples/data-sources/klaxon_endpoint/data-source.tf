# An application's stack subscribing its own SNS topic to an endpoint the platform team manages elsewhere.
variable "topic_arn" {
  description = "ARN of the application's SNS topic."
  type        = string
}

data "klaxon_team" "sre" {
  name = "sre"
}

data "klaxon_endpoint" "aws" {
  team_id = data.klaxon_team.sre.id
  name    = "aws-prod"
}

resource "klaxon_sns_subscription" "app_alarms" {
  topic_arn   = var.topic_arn
  endpoint_id = data.klaxon_endpoint.aws.id
}
