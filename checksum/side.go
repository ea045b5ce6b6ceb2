package checksum

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/dbconn"
)

// side is one cluster: a coordinator connection whose open REPEATABLE READ
// transaction exports the snapshot, and worker connections that import it,
// so every worker sees exactly the same data without taking any lock.
type side struct {
	name     string
	cfg      *pgx.ConnConfig
	opts     dbconn.Options
	coord    *pgx.Conn
	snapshot string
	version  string
	major    int
	// defaultC: the database's default collation orders text by bytes.
	defaultC bool

	mu   sync.Mutex // guards coord once workers run, and lost
	lost error
}

func openSide(ctx context.Context, dsn string, opts dbconn.Options) (*side, error) {
	opts.ReadOnly = true
	cfg, err := dbconn.Config(dsn, opts)
	if err != nil {
		return nil, err
	}
	// --jobs already runs ranges in parallel; parallel plans inside each
	// range query only add worker start-up and oversubscribe the server
	// (measured: 1603 ms instead of 2050 ms on the 500k-row bench table).
	cfg.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	// A row-level security policy must not hide rows from the comparison:
	// with row_security off, a role that cannot bypass a table's policy
	// gets an error for that table instead of a partial view.
	cfg.RuntimeParams["row_security"] = "off"
	// Ranges are read through bitmap scans: pages in physical order, cheaper
	// per row than an index scan's heap visits (measured 272 ms vs 308 ms
	// for 500k rows), and far cheaper when the key does not follow the
	// physical order. Key lookups keep their index (bitmap, one per key).
	cfg.RuntimeParams["enable_indexscan"] = "off"
	conn, err := dbconn.ConnectConfig(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	s := &side{name: opts.Role, cfg: cfg, opts: opts, coord: conn}
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('server_version_num')::int").Scan(&s.version, &num); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("%s: reading server version: %w", opts.Role, err)
	}
	s.major = num / 10000
	if s.major < 13 {
		conn.Close(ctx)
		return nil, fmt.Errorf("%s runs PostgreSQL %s: pgverify supports 13 and newer", opts.Role, s.version)
	}
	q := defaultCollationSQL
	if s.major >= 15 {
		q = defaultCollationSQL15
	}
	if err := conn.QueryRow(ctx, q).Scan(&s.defaultC); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("%s: reading the default collation: %w", opts.Role, err)
	}
	return s, nil
}

// begin opens the coordinator's snapshot and exports it. It returns the WAL
// insert position at (just after) the snapshot: every commit the snapshot
// sees is before it. Not pg_current_wal_lsn(): with synchronous_commit=off a
// visible commit may not be written yet, and lie past the write position.
func (s *side) begin(ctx context.Context) (lsn string, err error) {
	if _, err := s.coord.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return "", fmt.Errorf("%s: begin: %w", s.name, err)
	}
	err = s.coord.QueryRow(ctx, `SELECT pg_export_snapshot(),
		CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END::text`).Scan(&s.snapshot, &lsn)
	if err != nil {
		return "", fmt.Errorf("%s: exporting snapshot: %w", s.name, err)
	}
	return lsn, nil
}

// worker opens a connection that imports the exported snapshot.
func (s *side) worker(ctx context.Context) (*pgx.Conn, error) {
	conn, err := dbconn.ConnectConfig(ctx, s.cfg.Copy(), s.opts)
	if err != nil {
		return nil, err
	}
	if err := s.importSnapshot(ctx, conn); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return conn, nil
}

func (s *side) importSnapshot(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return fmt.Errorf("%s: begin: %w", s.name, err)
	}
	// SET TRANSACTION SNAPSHOT takes a literal, not a parameter; the id comes
	// from pg_export_snapshot and is quoted by the server's rules here.
	if _, err := conn.Exec(ctx, "SET TRANSACTION SNAPSHOT "+quoteLiteral(s.snapshot)); err != nil {
		return fmt.Errorf("%s: importing snapshot: %w", s.name, err)
	}
	return nil
}

// savepoint opens the unit of work whose locks release() gives back.
func savepoint(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, "SAVEPOINT pgverify_unit")
	return err
}

// release rolls back to the unit's savepoint: its locks are released, an
// error it hit is cleared, the snapshot stays. If even that fails the
// worker re-imports the snapshot in a new transaction.
func (s *side) release(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT pgverify_unit; RELEASE SAVEPOINT pgverify_unit"); err == nil {
		return nil
	}
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		return err
	}
	return s.importSnapshot(ctx, conn)
}

// lostErr is why the coordinator's session ended, if it did.
func (s *side) lostErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// ping runs a trivial statement on the coordinator, resetting its idle
// timer; a failure is remembered as the first cause of what follows.
func (s *side) ping(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost != nil {
		return
	}
	if _, err := s.coord.Exec(ctx, "SELECT 1"); err != nil && ctx.Err() == nil {
		s.lost = err
	}
}

// idleTimeout is the session's idle_in_transaction_session_timeout.
func (s *side) idleTimeout() time.Duration {
	ms, err := strconv.ParseInt(s.cfg.RuntimeParams["idle_in_transaction_session_timeout"], 10, 64)
	if err != nil || ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// keepAlive pings both coordinators and every worker waiting in the pool
// at a third of the shortest idle timeout, until stopped.
func keepAlive(ctx context.Context, pool chan *pair, src, tgt *side) (stop func()) {
	every := min(src.idleTimeout(), tgt.idleTimeout()) / 3
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			src.ping(ctx)
			tgt.ping(ctx)
			// Workers in the pool are idle in their transactions too; a
			// busy worker is running a statement and needs nothing.
			for n := len(pool); n > 0; n-- {
				select {
				case p := <-pool:
					_, _ = p.src.Exec(ctx, "SELECT 1")
					_, _ = p.tgt.Exec(ctx, "SELECT 1")
					pool <- p
				default:
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// fresh opens a connection with a new snapshot of its own, for re-checks.
func (s *side) fresh(ctx context.Context) (*pgx.Conn, error) {
	conn, err := dbconn.ConnectConfig(ctx, s.cfg.Copy(), s.opts)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return conn, nil
}

func (s *side) close(ctx context.Context) {
	if s != nil && s.coord != nil {
		s.coord.Close(ctx)
	}
}

// quoteLiteral quotes a string as an SQL literal (standard_conforming_strings
// is on in every supported major). Only used for server-generated ids.
func quoteLiteral(s string) string {
	out := make([]byte, 0, len(s)+2)
	out = append(out, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// The database's default collation is byte-ordered when it is libc's C or
// POSIX (PG 15+ may also use ICU or, on 17+, the builtin provider, whose
// C.UTF-8 is byte-ordered too but is treated as not, to stay on the safe
// side).
const (
	defaultCollationSQL   = "SELECT datcollate IN ('C', 'POSIX') FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()"
	defaultCollationSQL15 = "SELECT datlocprovider = 'c' AND datcollate IN ('C', 'POSIX') FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()"
)
