-- State of table $2 (oid) in subscription $1 (oid).
SELECT srsubstate::text FROM pg_catalog.pg_subscription_rel WHERE srsubid = $1 AND srrelid = $2
