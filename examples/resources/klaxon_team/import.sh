# A team is imported by its id.
terraform import klaxon_team.sre 0192f0c4-5a8e-7b61-9d2c-1f7e3a9b4c21
