# A whole Klaxon setup: a team, an escalation policy, an endpoint for webhooks and SNS, and the SNS
# subscription of an existing topic. Apply it against a running `klaxon serve` (see docs/index.md):
#
#   export KLAXON_TOKEN=...   # printed by `klaxon account create`
#   terraform apply -var topic_arn=arn:aws:sns:eu-west-1:123456789012:alarms

terraform {
  required_version = ">= 1.5"
  required_providers {
    klaxon = {
      source = "klaxon/klaxon"
    }
  }
}

variable "klaxon_endpoint" {
  description = "Base URL of the Klaxon API."
  type        = string
  default     = "http://127.0.0.1:8080"
}

variable "slack_channel" {
  description = "Id of the Slack channel that receives the team's alerts."
  type        = string
  default     = "C0123ABCDE"
}

variable "topic_arn" {
  description = "ARN of an existing SNS topic to subscribe (e.g. the one your CloudWatch alarms notify)."
  type        = string
}

variable "aws_region" {
  description = "AWS region of the topic."
  type        = string
  default     = "eu-west-1"
}

variable "aws_endpoint_url" {
  description = "Endpoint override for AWS calls, e.g. a local moto server; null for AWS itself."
  type        = string
  default     = null
}

# The token comes from KLAXON_TOKEN, so it never lands in a file.
provider "klaxon" {
  endpoint = var.klaxon_endpoint

  aws {
    region       = var.aws_region
    endpoint_url = var.aws_endpoint_url
  }
}

resource "klaxon_team" "sre" {
  name          = "sre"
  slack_channel = var.slack_channel
  description   = "Production alerts."
}

# The team's default chain, written out: a random member, another random member, @here, then @channel,
# 5 minutes apart, no repeat. Edit a step here to change it in place.
resource "klaxon_escalation_policy" "default" {
  team_id = klaxon_team.sre.id
  name    = "default"
  steps = [
    { notify = "random_member", escalate_after_minutes = 5 },
    { notify = "random_member", escalate_after_minutes = 5 },
    { notify = "here", escalate_after_minutes = 5 },
    { notify = "channel" },
  ]
  repeat        = 0
  skip_inactive = true
}

resource "klaxon_endpoint" "aws" {
  team_id              = klaxon_team.sre.id
  escalation_policy_id = klaxon_escalation_policy.default.id
  name                 = "aws"
  allowed_topic_arns   = [var.topic_arn]
}

resource "klaxon_sns_subscription" "alarms" {
  topic_arn   = var.topic_arn
  endpoint_id = klaxon_endpoint.aws.id
}

output "team_id" {
  value = klaxon_team.sre.id
}

output "escalation_policy_id" {
  value = klaxon_escalation_policy.default.id
}

output "webhook_url" {
  description = "POST alerts here (curl, New Relic, Uptime Robot): `terraform output -raw webhook_url`."
  value       = klaxon_endpoint.aws.url
  sensitive   = true
}

output "sns_url" {
  description = "The URL subscribed to the topic."
  value       = klaxon_endpoint.aws.sns_url
  sensitive   = true
}

output "subscription_arn" {
  value = klaxon_sns_subscription.alarms.subscription_arn
}

output "subscription_confirmed" {
  value = klaxon_sns_subscription.alarms.confirmed
}
