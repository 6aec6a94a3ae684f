# A team managed in another workspace, found by its name.
data "klaxon_team" "sre" {
  name = "sre"
}

output "sre_channel" {
  value = data.klaxon_team.sre.slack_channel
}
