// Package proxyctl drives a running `pgverify proxy` through its admin
// console (--admin-listen): PostgreSQL protocol, simple queries.
package proxyctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgverify/pgverify/failover"
	"github.com/pgverify/pgverify/internal/dbconn"
)

// Console is an admin-console client; it implements failover.Driver. It
// keeps a few connections so a RESUME can be sent while a PAUSE waits.
type Console struct {
	name string
	cfg  *pgconn.Config

	mu   sync.Mutex
	idle []*pgconn.PgConn
}

// DSN turns an admin address into a connection string: host:port gets the
// user and password of base (a DSN, usually the source's) and sslmode
// disable unless base sets one; a URL or key=value string is used as is.
func DSN(addr, base string) (string, error) {
	if strings.Contains(addr, "://") || strings.Contains(addr, "=") {
		return addr, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("proxy admin address %q: want host:port or a DSN: %w", addr, err)
	}
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(host, port), Path: "/pgverify", RawQuery: "sslmode=disable"}
	if base != "" {
		if bc, err := pgx.ParseConfig(base); err == nil && bc.User != "" {
			if bc.Password != "" {
				u.User = url.UserPassword(bc.User, bc.Password)
			} else {
				u.User = url.User(bc.User)
			}
		}
	}
	return u.String(), nil
}

// Open connects to the admin console at dsn and checks it answers SHOW STATE.
func Open(ctx context.Context, dsn string) (*Console, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("proxy admin %s: %s", dbconn.Redact(dsn), dbconn.Redact(err.Error()))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	c := &Console{name: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg: cfg}
	// Two connections up front: one for PAUSE, one for anything meanwhile.
	for i := 0; i < 2; i++ {
		pc, err := c.dial(ctx)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.put(pc)
	}
	if _, err := c.query(ctx, "SHOW STATE"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Name is the console's host:port.
func (c *Console) Name() string { return c.name }

func (c *Console) dial(ctx context.Context) (*pgconn.PgConn, error) {
	pc, err := pgconn.ConnectConfig(ctx, c.cfg)
	if err != nil {
		return nil, fmt.Errorf("proxy admin %s: %s", c.name, dbconn.Redact(err.Error()))
	}
	return pc, nil
}

func (c *Console) get(ctx context.Context) (*pgconn.PgConn, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		pc := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return pc, nil
	}
	c.mu.Unlock()
	return c.dial(ctx)
}

func (c *Console) put(pc *pgconn.PgConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = append(c.idle, pc)
}

type result struct {
	cols    []string
	rows    [][]string
	notices []string
}

// query runs one console command on an idle connection (a new one if
// every connection is busy).
func (c *Console) query(ctx context.Context, sql string) (*result, error) {
	pc, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	res := &result{}
	rs, err := pc.Exec(ctx, sql).ReadAll()
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && !pc.IsClosed() {
			c.put(pc)
			return nil, fmt.Errorf("proxy %s: %s: %s", c.name, strings.Fields(sql)[0], pe.Message)
		}
		_ = pc.Close(context.Background())
		return nil, fmt.Errorf("proxy %s: %s: %w", c.name, strings.Fields(sql)[0], err)
	}
	c.put(pc)
	if len(rs) > 0 {
		r := rs[len(rs)-1]
		for _, f := range r.FieldDescriptions {
			res.cols = append(res.cols, f.Name)
		}
		for _, row := range r.Rows {
			vals := make([]string, len(row))
			for i, v := range row {
				vals[i] = string(v)
			}
			res.rows = append(res.rows, vals)
		}
	}
	return res, nil
}

func (r *result) get(row int, col string) string {
	for i, c := range r.cols {
		if c == col && row < len(r.rows) {
			return r.rows[row][i]
		}
	}
	return ""
}

// Pause sends PAUSE with the time left before ctx's deadline (30s without
// one). The proxy resumes by itself when that passes.
func (c *Console) Pause(ctx context.Context) error {
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout < time.Millisecond {
			return fmt.Errorf("proxy %s: pause: no time left", c.name)
		}
	}
	_, err := c.query(ctx, fmt.Sprintf("PAUSE %dms", timeout.Milliseconds()))
	return err
}

// Switch sends SWITCH 'dsn'.
func (c *Console) Switch(ctx context.Context, dsn string) (failover.SwitchInfo, error) {
	start := time.Now()
	r, err := c.query(ctx, "SWITCH '"+strings.ReplaceAll(dsn, "'", "''")+"'")
	if err != nil {
		return failover.SwitchInfo{}, errors.New(dbconn.Redact(err.Error()))
	}
	var si failover.SwitchInfo
	si.Moved, _ = strconv.Atoi(r.get(0, "moved"))
	si.Closed, _ = strconv.Atoi(r.get(0, "closed"))
	si.Failed, _ = strconv.Atoi(r.get(0, "failed"))
	si.Duration = time.Since(start)
	return si, nil
}

// Prewarm sends PREWARM 'dsn': the proxy opens a backend session on dsn for
// every client now, so the switch inside the pause does not log in.
func (c *Console) Prewarm(ctx context.Context, dsn string) (int, error) {
	r, err := c.query(ctx, "PREWARM '"+strings.ReplaceAll(dsn, "'", "''")+"'")
	if err != nil {
		return 0, errors.New(dbconn.Redact(err.Error()))
	}
	n, _ := strconv.Atoi(r.get(0, "opened"))
	return n, nil
}

// Resume sends RESUME.
func (c *Console) Resume(ctx context.Context) error {
	_, err := c.query(ctx, "RESUME")
	return err
}

// State returns SHOW STATE as column → value.
func (c *Console) State(ctx context.Context) (map[string]string, error) {
	r, err := c.query(ctx, "SHOW STATE")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for i, col := range r.cols {
		if len(r.rows) > 0 {
			m[col] = r.rows[0][i]
		}
	}
	return m, nil
}

// Clients sends SHOW CLIENTS.
func (c *Console) Clients(ctx context.Context) ([]failover.Client, error) {
	r, err := c.query(ctx, "SHOW CLIENTS")
	if err != nil {
		return nil, err
	}
	out := make([]failover.Client, len(r.rows))
	for i := range r.rows {
		pid, _ := strconv.Atoi(r.get(i, "backend_pid"))
		out[i] = failover.Client{ID: r.get(i, "id"), User: r.get(i, "user"), Database: r.get(i, "database"),
			Addr: r.get(i, "addr"), ApplicationName: r.get(i, "application_name"), State: r.get(i, "state"), BackendPID: pid}
	}
	return out, nil
}

// Close closes the console connections.
func (c *Console) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, pc := range idle {
		_ = pc.Close(context.Background())
	}
	return nil
}

var _ failover.Driver = (*Console)(nil)
