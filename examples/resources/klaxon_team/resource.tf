resource "klaxon_team" "sre" {
  name          = "sre"
  slack_channel = "C0123ABCDE"
  members       = ["U0AAAAAAA", "U0BBBBBBB", "U0CCCCCCC"]
  description   = "Site reliability: production alerts."
}
