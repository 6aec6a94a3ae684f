-- How many data keys are not wrapped by provider ?1.
SELECT count(*) FROM secret_keys WHERE key_ref <> ?1
