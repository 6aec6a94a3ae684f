-- How many installed workspaces are active and inactive.
SELECT active, count(*) FROM slack_installs GROUP BY active
