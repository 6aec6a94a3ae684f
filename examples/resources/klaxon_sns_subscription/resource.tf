variable "topic_arn" {
  description = "ARN of the SNS topic whose messages become alerts."
  type        = string
}

variable "dead_letter_queue_arn" {
  description = "ARN of an SQS queue in the topic's account and region, whose policy lets SNS send to it."
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

# Subscribes the endpoint's sns_url to the topic (protocol https) and unsubscribes on destroy. Without
# retry_policy, SNS retries a failed delivery 60 times over most of an hour instead of 3 times in a minute.
resource "klaxon_sns_subscription" "alarms" {
  topic_arn   = var.topic_arn
  endpoint_id = klaxon_endpoint.aws.id

  # The server runs with KLAXON_INGEST_RATE=100 (the default, 50, needs no throttle_policy).
  throttle_policy = {
    max_receives_per_second = 100
  }

  # What SNS still cannot deliver after the last retry goes to the queue instead of being discarded.
  dead_letter_queue_arn = var.dead_letter_queue_arn
}

output "subscription_arn" {
  value = klaxon_sns_subscription.alarms.subscription_arn
}
