-- Every table of this database's subscriptions with its sync state
-- (i init, d data copy, f finished copy, s synchronized, r ready).
SELECT r.srsubid::int8,
       c.oid::regclass::text AS object,
       n.nspname::text       AS schema,
       c.relname::text       AS name,
       r.srsubstate::text    AS state
FROM pg_subscription_rel r
JOIN pg_class c ON c.oid = r.srrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY 1, 2
