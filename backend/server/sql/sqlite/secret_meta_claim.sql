-- Records ?1 as the key provider of this database unless one is recorded (secret_meta_get reads it).
INSERT INTO secret_meta (name, value) VALUES ('key_ref', ?1) ON CONFLICT (name) DO NOTHING
