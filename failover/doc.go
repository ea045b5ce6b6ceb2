// Package failover holds what carries the zero-downtime switch of a move:
// the session-preserving proxy (failover/proxy) that applications connect
// through, and that a switch coordinator pauses, points at the new cluster
// and resumes.
package failover
