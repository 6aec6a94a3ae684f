# A heartbeat is imported by its id.
terraform import klaxon_heartbeat.nightly_backup hb_0192f0c62c3d7e4f9a516b7c8d9e0f1a
