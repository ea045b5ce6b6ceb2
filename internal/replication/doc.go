// Package replication finds the logical replication link between a source
// and a target (the target's enabled subscriptions whose slots live on the
// source) and waits until the target has applied everything up to a source
// WAL position, by the slots' confirmed_flush_lsn. Commands that compare a
// live subscriber use it so replication lag is never reported as loss.
package replication
