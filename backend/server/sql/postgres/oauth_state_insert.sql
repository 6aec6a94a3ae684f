-- An install begun: its state $1 works once, until $2.
INSERT INTO slack_oauth_states (state, expires_at_ms) VALUES ($1, $2)
