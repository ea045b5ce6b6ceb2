-- Prepared (two-phase) transactions, cluster-wide: slot creation waits for
-- them too, and a forgotten one never ends.
SELECT gid::text, coalesce(owner::text, '') AS owner, coalesce(database::text, '') AS database,
       extract(epoch FROM now() - prepared)::float8 AS age_seconds
FROM pg_prepared_xacts
ORDER BY prepared
