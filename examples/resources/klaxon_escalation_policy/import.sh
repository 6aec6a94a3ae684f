# An escalation policy is imported by its id.
terraform import klaxon_escalation_policy.business_hours 0192f0c5-1b2c-7d3e-8f40-5a6b7c8d9e0f
