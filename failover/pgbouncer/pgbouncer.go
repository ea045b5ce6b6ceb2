package pgbouncer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/dbconn"
)

// Spec is one PgBouncer the switch drives, from
// 'ADMIN_DSN;ini=/etc/pgbouncer/pgbouncer.ini;db=app' (or ';switch-cmd=CMD'
// instead of ini= for a PgBouncer on another host).
type Spec struct {
	AdminDSN string // to the admin console: dbname=pgbouncer, an admin_users user
	Ini      string // the ini file whose [databases] entry for DB is rewritten
	DB       string // the PgBouncer database name to pause and switch
	// SwitchCmd, instead of Ini, is run with the new backend in the
	// environment (PGVERIFY_HOST, PGVERIFY_PORT, PGVERIFY_DBNAME) and must
	// make the PgBouncer's config point there; RELOAD follows.
	SwitchCmd string
	// Lease bounds a pause (lease=DURATION; default DefaultLease): a lease
	// keeper resumes the database on its old backend if the coordinator
	// dies or goes silent inside the pause.
	Lease time.Duration `json:",omitempty"`
}

// ParseSpec reads a --pgbouncer value.
func ParseSpec(v string) (Spec, error) {
	parts := strings.Split(v, ";")
	s := Spec{AdminDSN: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			return Spec{}, fmt.Errorf("--pgbouncer: %q is not key=value (want 'ADMIN_DSN;ini=FILE;db=NAME')", p)
		}
		switch strings.TrimSpace(k) {
		case "ini":
			s.Ini = strings.TrimSpace(val)
		case "db":
			s.DB = strings.TrimSpace(val)
		case "switch-cmd":
			s.SwitchCmd = strings.TrimSpace(val)
		case "lease":
			d, err := time.ParseDuration(strings.TrimSpace(val))
			if err != nil || d <= 0 {
				return Spec{}, fmt.Errorf("--pgbouncer: lease=%s is not a positive duration (say lease=60s)", strings.TrimSpace(val))
			}
			s.Lease = d
		default:
			return Spec{}, fmt.Errorf("--pgbouncer: unknown key %q (want ini=, db=, switch-cmd= or lease=)", k)
		}
	}
	switch {
	case s.AdminDSN == "":
		return Spec{}, errors.New("--pgbouncer: no admin console DSN before the first ';'")
	case s.DB == "":
		return Spec{}, errors.New("--pgbouncer: db=NAME is missing (the PgBouncer database to switch)")
	case s.Ini == "" && s.SwitchCmd == "":
		return Spec{}, errors.New("--pgbouncer: give ini=FILE (rewritten here) or switch-cmd=CMD (for a PgBouncer on another host)")
	case s.Ini != "" && s.SwitchCmd != "":
		return Spec{}, errors.New("--pgbouncer: give ini= or switch-cmd=, not both")
	}
	return s, nil
}

// Driver drives one PgBouncer through its admin console: PAUSE db (bounded,
// with RESUME on timeout), rewrite the database's host/port/dbname, RELOAD,
// check SHOW DATABASES, RESUME db.
type Driver struct {
	spec Spec
	mu   sync.Mutex
	conn *pgx.Conn // the admin console
	name string
	// keeper guards the current pause (lease.go); nil outside one.
	keeper *keeper
}

// New returns a driver for spec; Check connects.
func New(spec Spec) *Driver {
	return &Driver{spec: spec, name: "pgbouncer " + redactedHost(spec.AdminDSN) + " db " + spec.DB}
}

// Name identifies the PgBouncer in reports.
func (d *Driver) Name() string { return d.name }

func redactedHost(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
}

// admin opens an admin-console connection: simple protocol only (the
// console understands nothing else), no session settings.
func (d *Driver) admin(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(d.spec.AdminDSN)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", d.name, dbconn.Redact(err.Error()))
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.RuntimeParams = map[string]string{}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot reach the admin console: %s", d.name, dbconn.Redact(err.Error()))
	}
	return conn, nil
}

// Check connects and refuses what cannot work: a session pool mode (PAUSE
// cannot complete while clients hold their server connections), an
// unknown database, an ini that cannot be rewritten.
func (d *Driver) Check(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		c, err := d.admin(ctx)
		if err != nil {
			return err
		}
		d.conn = c
	}
	mode, err := d.show(ctx, d.conn, "SHOW CONFIG", "key", "pool_mode", "value")
	if err != nil {
		return err
	}
	db, err := d.database(ctx, d.conn)
	if err != nil {
		return err
	}
	if m := db["pool_mode"]; m != "" {
		mode = m
	}
	if mode == "session" {
		return fmt.Errorf("%s: pool_mode is session: PAUSE waits for every client to disconnect there; use transaction pooling for a zero-downtime switch", d.name)
	}
	if d.spec.Ini != "" {
		b, err := os.ReadFile(d.spec.Ini)
		if err != nil {
			return fmt.Errorf("%s: reading %s: %w", d.name, d.spec.Ini, err)
		}
		if _, err := RewriteDatabase(b, d.spec.DB, "127.0.0.1", 1, "x"); err != nil {
			return fmt.Errorf("%s: %s: %w", d.name, d.spec.Ini, err)
		}
		if err := writable(d.spec.Ini); err != nil {
			return fmt.Errorf("%s: %s cannot be rewritten (%v): the switch would stall after the pause", d.name, d.spec.Ini, err)
		}
	}
	return nil
}

// writable checks that path's directory takes a new file (the rewrite is a
// rename) and that the file itself could be written.
func writable(path string) error {
	f, err := os.CreateTemp(dirOf(path), ".pgverify-check-*")
	if err != nil {
		return err
	}
	f.Close()
	os.Remove(f.Name())
	g, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return g.Close()
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		if i == 0 {
			return "/"
		}
		return p[:i]
	}
	return "."
}

// show runs an admin SHOW and returns, from the row whose keyCol is key,
// the value of valCol.
func (d *Driver) show(ctx context.Context, conn *pgx.Conn, q, keyCol, key, valCol string) (string, error) {
	rows, err := d.rows(ctx, conn, q)
	if err != nil {
		return "", err
	}
	for _, r := range rows {
		if r[keyCol] == key {
			return r[valCol], nil
		}
	}
	return "", fmt.Errorf("%s: %s has no %s %q", d.name, q, keyCol, key)
}

// rows runs an admin command and returns its rows as column → text.
func (d *Driver) rows(ctx context.Context, conn *pgx.Conn, q string) ([]map[string]string, error) {
	rs, err := conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", d.name, q, err)
	}
	defer rs.Close()
	var out []map[string]string
	fields := rs.FieldDescriptions()
	for rs.Next() {
		vals := rs.RawValues()
		m := make(map[string]string, len(fields))
		for i, f := range fields {
			m[f.Name] = string(vals[i])
		}
		out = append(out, m)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", d.name, q, err)
	}
	return out, nil
}

// database is the SHOW DATABASES row of the driver's database.
func (d *Driver) database(ctx context.Context, conn *pgx.Conn) (map[string]string, error) {
	rows, err := d.rows(ctx, conn, "SHOW DATABASES")
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r["name"] == d.spec.DB {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%s: no database %q in SHOW DATABASES", d.name, d.spec.DB)
}

// Pause sends PAUSE db and returns when PgBouncer has released every
// server connection of the database (transaction mode: every transaction
// has finished; new ones wait in PgBouncer). PgBouncer's PAUSE has no
// timeout of its own, and a RESUME while it waits leaves it hanging for
// ever (pgbouncer issue #715): so it runs on a connection of its own, and
// when ctx ends first, RESUME goes over the console connection and the
// hung one is closed. The database is then running again, as before.
func (d *Driver) Pause(ctx context.Context) error {
	d.mu.Lock()
	conn, err := d.console(ctx)
	var db map[string]string
	if err == nil {
		db, err = d.database(ctx, conn)
	}
	if err == nil && d.keeper == nil {
		if err = d.arm(ctx, db); err != nil {
			err = fmt.Errorf("%s: %w: %v", d.name, errNoKeeper, err)
		}
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	pc, err := d.admin(ctx)
	if err != nil {
		d.Resume(context.WithoutCancel(ctx)) // lets the keeper go
		return err
	}
	done := make(chan error, 1)
	go func() {
		_, err := pc.Exec(context.WithoutCancel(ctx), "PAUSE "+quoteIdent(d.spec.DB))
		done <- err
	}()
	select {
	case err := <-done:
		pc.Close(context.Background())
		if err != nil {
			return fmt.Errorf("%s: PAUSE: %w", d.name, err)
		}
		return nil
	case <-ctx.Done():
		rerr := d.Resume(context.Background())
		// Closing the socket frees the PAUSE that will never return (a
		// pgx.Conn must not be closed while another goroutine uses it; its
		// net.Conn may be), and the waiting Exec then ends.
		_ = pc.PgConn().Conn().Close()
		<-done
		if rerr != nil {
			return fmt.Errorf("%s: PAUSE did not complete (%v) and RESUME failed: %w", d.name, ctx.Err(), rerr)
		}
		return fmt.Errorf("%s: PAUSE did not complete in time (%w): a transaction is still open; resumed", d.name, ctx.Err())
	}
}

// Resume sends RESUME db. Resuming a database that is not paused is not an
// error (a rollback may resume twice). The pause's keeper learns first that
// the database stays where it points now, and is let go once resumed (if
// RESUME fails, it resumes the database itself when this process ends).
func (d *Driver) Resume(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tell("commit")
	if err := d.resume(ctx); err != nil {
		return err
	}
	d.tell("done")
	return nil
}

func (d *Driver) resume(ctx context.Context) error {
	conn, err := d.console(ctx)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "RESUME "+quoteIdent(d.spec.DB)); err != nil {
		if strings.Contains(err.Error(), "not paused") {
			return nil
		}
		return fmt.Errorf("%s: RESUME: %w", d.name, err)
	}
	return nil
}

func (d *Driver) console(ctx context.Context) (*pgx.Conn, error) {
	if d.conn == nil || d.conn.IsClosed() {
		c, err := d.admin(ctx)
		if err != nil {
			return nil, err
		}
		d.conn = c
	}
	return d.conn, nil
}

// Switch points the database at the backend of dsn: the ini entry is
// rewritten atomically (or switch-cmd runs), PgBouncer reloads, and SHOW
// DATABASES must show the new host, port and dbname before it returns.
// Call it while paused: no server connection to the old backend is left.
func (d *Driver) Switch(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("%s: backend: %s", d.name, dbconn.Redact(err.Error()))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.point(ctx, cfg.Host, int(cfg.Port), cfg.Database)
}

// point rewrites (or runs switch-cmd), reloads and checks; d.mu is held.
func (d *Driver) point(ctx context.Context, host string, port int, dbname string) error {
	if d.spec.Ini != "" {
		b, err := os.ReadFile(d.spec.Ini)
		if err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		nb, err := RewriteDatabase(b, d.spec.DB, host, port, dbname)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", d.name, d.spec.Ini, err)
		}
		if err := replaceFile(d.spec.Ini, nb); err != nil {
			return fmt.Errorf("%s: rewriting %s: %w", d.name, d.spec.Ini, err)
		}
	} else {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", d.spec.SwitchCmd)
		cmd.Env = append(os.Environ(), "PGVERIFY_HOST="+host, "PGVERIFY_PORT="+strconv.Itoa(port), "PGVERIFY_DBNAME="+dbname)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: switch-cmd failed: %v: %s", d.name, err, lastLine(string(out)))
		}
	}
	conn, err := d.console(ctx)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "RELOAD"); err != nil {
		return fmt.Errorf("%s: RELOAD: %w", d.name, err)
	}
	db, err := d.database(ctx, conn)
	if err != nil {
		return err
	}
	if db["host"] != host || db["port"] != strconv.Itoa(port) || db["database"] != dbname {
		return fmt.Errorf("%s: after RELOAD the database points at %s:%s/%s, not %s:%d/%s", d.name, db["host"], db["port"], db["database"], host, port, dbname)
	}
	return nil
}

// Backend is where the database points now (host:port/dbname).
func (d *Driver) Backend(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	conn, err := d.console(ctx)
	if err != nil {
		return "", err
	}
	db, err := d.database(ctx, conn)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%s/%s", db["host"], db["port"], db["database"]), nil
}

// Client is one client connection of the database.
type Client struct {
	User, State, Addr, ApplicationName string
}

// Clients lists the database's client connections (SHOW CLIENTS).
func (d *Driver) Clients(ctx context.Context) ([]Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	conn, err := d.console(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := d.rows(ctx, conn, "SHOW CLIENTS")
	if err != nil {
		return nil, err
	}
	var out []Client
	for _, r := range rows {
		if r["database"] == d.spec.DB {
			out = append(out, Client{User: r["user"], State: r["state"], Addr: r["addr"] + ":" + r["port"], ApplicationName: r["application_name"]})
		}
	}
	return out, nil
}

// Close closes the console connection. A keeper still armed (a pause
// neither resumed nor rolled back) takes over when this process exits.
func (d *Driver) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close(context.Background())
		d.conn = nil
	}
}

// quoteIdent quotes a database name the way the admin console reads it.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
