# An SNS subscription is imported by its subscription ARN.
terraform import klaxon_sns_subscription.alarms arn:aws:sns:eu-west-1:123456789012:alarms:5f1c3e2a-8b7d-4c6e-9f0a-1b2c3d4e5f60
