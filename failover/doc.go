// Package failover carries the zero-downtime switch of a move. Run is the
// phase machine of `pgverify switch`: checks with no impact, then one
// bounded pause (pause every Driver, drain, fence the source, prove
// catch-up with a marker row, sync sequences, create reverse replication,
// switch, resume) that rolls back on any failure, then a stray-write
// watch. Drivers route the application's sessions: failover/proxyctl
// drives the session-preserving proxy (failover/proxy) through its admin
// console.
package failover
