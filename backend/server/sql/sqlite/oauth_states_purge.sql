-- Forgets installs begun that expired before ?1.
DELETE FROM slack_oauth_states WHERE expires_at_ms < ?1
