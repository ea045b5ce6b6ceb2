-- Publications of this database and whether they publish partitions through
-- their root.
SELECT p.pubname::text, p.puballtables, p.pubviaroot
FROM pg_publication p
ORDER BY p.pubname
