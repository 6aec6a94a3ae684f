-- Serialises events of one endpoint ($1) and group key ($2) until the transaction ends, so two copies of an
-- event arriving together make one alert. The outer SELECT gives the driver a type it can read.
SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 0))) AS l
