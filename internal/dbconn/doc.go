// Package dbconn opens the guarded connections every pgverify command uses:
// DSNs from flags or PGVERIFY_* variables (libpq environment and .pgpass work
// as with psql), output settings pinned so text and hashes never depend on the
// server's configuration, statement_timeout and lock_timeout on every session,
// and errors that are one line and never contain a password.
package dbconn
