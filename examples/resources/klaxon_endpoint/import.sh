# An endpoint is imported by its id.
terraform import klaxon_endpoint.aws 0192f0c6-2c3d-7e4f-9a51-6b7c8d9e0f1a
