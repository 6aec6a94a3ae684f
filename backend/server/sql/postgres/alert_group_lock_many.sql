-- Serialises events of the same endpoint and group key until the transaction ends, so two copies of an event
-- arriving together at two replicas make one alert. $1 is a JSON array of "endpoint/key" strings, sorted and
-- distinct, taken in that order so that two batches never wait on each other in a cycle.
SELECT count(*) AS locked
FROM (
    SELECT pg_advisory_xact_lock(hashtextextended(x.v, 0))
    FROM json_array_elements_text($1::json) WITH ORDINALITY AS x (v, ord)
) AS l
