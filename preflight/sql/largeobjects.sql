-- Large objects live in pg_largeobject, which logical replication never copies.
SELECT count(*)::int8 FROM pg_largeobject_metadata
