# A maintenance window is imported by its id.
terraform import klaxon_maintenance_window.db_upgrade mw_0192f0c4a18e7b619d2c1f7e3a9b4c21
