// Package pgbouncer drives a PgBouncer as one traffic controller of a
// switch: PAUSE a database (bounded, with RESUME when it does not complete:
// PgBouncer's own PAUSE never times out), point it at the new cluster by
// rewriting its [databases] entry in place (or running a user command for
// a PgBouncer on another host) and RELOAD, check SHOW DATABASES, RESUME.
package pgbouncer
