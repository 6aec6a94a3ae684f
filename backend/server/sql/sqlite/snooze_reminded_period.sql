-- The last reminder told of alert ?1.
SELECT reminded_period FROM alerts WHERE id = ?1
