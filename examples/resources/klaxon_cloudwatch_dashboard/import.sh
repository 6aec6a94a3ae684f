# A CloudWatch dashboard is imported by its name.
terraform import klaxon_cloudwatch_dashboard.klaxon Klaxon
