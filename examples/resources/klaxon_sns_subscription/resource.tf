variable "topic_arn" {
  description = "ARN of the SNS topic whose messages become alerts."
  type        = string
}

resource "klaxon_team" "sre" {
  name          = "sre"
  slack_channel = "C0123ABCDE"
}

resource "klaxon_endpoint" "aws" {
  team_id            = klaxon_team.sre.id
  name               = "aws-prod"
  allowed_topic_arns = [var.topic_arn]
}

# Subscribes the endpoint's sns_url to the topic (protocol https) and unsubscribes on destroy.
resource "klaxon_sns_subscription" "alarms" {
  topic_arn   = var.topic_arn
  endpoint_id = klaxon_endpoint.aws.id
}

output "subscription_arn" {
  value = klaxon_sns_subscription.alarms.subscription_arn
}
