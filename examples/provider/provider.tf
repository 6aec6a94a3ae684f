terraform {
  required_providers {
    klaxon = {
      source = "klaxon/klaxon"
    }
  }
}

variable "klaxon_token" {
  description = "API token of the Klaxon account (`klaxon account create` prints one)."
  type        = string
  sensitive   = true
}

provider "klaxon" {
  endpoint = "http://127.0.0.1:8080" # or KLAXON_ENDPOINT
  token    = var.klaxon_token        # or KLAXON_TOKEN

  # Only needed for klaxon_sns_subscription and klaxon_cloudwatch_dashboard; credentials come from the AWS
  # SDK's default chain.
  aws {
    region = "eu-west-1"
    # endpoint_url = "http://127.0.0.1:5099" # e.g. a local moto server
  }
}
