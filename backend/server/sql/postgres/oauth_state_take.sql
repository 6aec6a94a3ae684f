-- Uses state $1 up: deleted if it is there (expired or not); the caller checks the expiry it signed.
DELETE FROM slack_oauth_states WHERE state = $1
