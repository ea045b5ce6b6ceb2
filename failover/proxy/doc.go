// Package proxy is a PostgreSQL v3-protocol proxy with one backend session
// per client session (not a pooler). Clients authenticate to the proxy
// (SCRAM-SHA-256 or md5 against a PgBouncer-style userlist, or trust on
// loopback); the proxy logs in to the current backend with stored
// credentials, so it can open a new backend session for a client without it.
//
// Each session's transaction state is tracked from ReadyForQuery. Pause holds
// every session's next transaction and returns once no client is inside one;
// Switch then moves every idle session to a new backend, carrying its startup
// parameters, session SETs and prepared statements, and closes with a FATAL
// message the sessions whose state cannot move (LISTEN, temporary tables,
// session advisory locks, WITH HOLD cursors); Resume releases the held
// transactions. The same operations are offered in-process and on an admin
// console that speaks the PostgreSQL protocol (psql works).
package proxy
