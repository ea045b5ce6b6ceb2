// Package schema groups pgverify's schema commands. It holds no code of its
// own: subpackage lint holds the logic of `pgverify schema lint` (search_path
// hazards in function bodies that break restores and logical replication),
// and subpackage diff holds the logic of `pgverify schema diff`.
package schema
