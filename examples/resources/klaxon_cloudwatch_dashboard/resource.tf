# Graphs of the metrics the Klaxon server publishes when KLAXON_CLOUDWATCH_NAMESPACE is set, in the region of the
# provider's aws block. Omit namespace and period for the defaults ("Klaxon", 300 seconds).
resource "klaxon_cloudwatch_dashboard" "klaxon" {
  name      = "Klaxon"
  namespace = "Klaxon"
  period    = 300
}

output "dashboard_arn" {
  value = klaxon_cloudwatch_dashboard.klaxon.dashboard_arn
}
