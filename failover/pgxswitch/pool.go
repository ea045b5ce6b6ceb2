// Package pgxswitch lets a Go application take part in `pgverify switch`
// with its own connection pool: a wrapper around a pgxpool.Pool that the
// switch coordinator pauses (new transactions wait, running ones finish),
// points at the new cluster and resumes, in process — the seed's own
// approach, generalised.
//
// The control channel is HTTP on an address the application chooses
// (ControlAddr), with a shared bearer token: it needs nothing but the
// application's process, works whether or not the coordinator can reach
// the databases the way the application does, and leaves no trace in
// either cluster (a control table would be a write on the old cluster in
// the middle of the fence). A pause is a lease: if no switch or resume
// follows within Lease, the pool resumes on the cluster it was using by
// itself, so a coordinator that dies mid-switch never leaves the
// application paused.
//
// A switch is two-phase, so a fleet never splits between clusters: Switch
// prepares (opens and checks a pool on the new cluster, still paused),
// Resume commits (swaps the prepared pool in, then releases the held work),
// Rollback discards the prepared pool and releases onto the old cluster.
// A lease that expires rolls back: a member never moves to the new cluster
// on its own.
package pgxswitch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configure a Pool.
type Options struct {
	// Lease bounds a pause: without a switch or resume within it, the pool
	// resumes by itself on its current cluster. Default 10s.
	Lease time.Duration
	// Configure, if set, adjusts each pool's config (the first and every
	// pool opened by a switch).
	Configure func(*pgxpool.Config)
}

// Pool is a pgxpool.Pool whose transactions can be held, drained and
// moved to another cluster between transactions.
type Pool struct {
	opts Options

	mu       sync.Mutex
	cond     *sync.Cond
	pool     *pgxpool.Pool
	pending  *pgxpool.Pool // prepared by Switch, swapped in by Resume
	dsn      string
	paused   bool
	inflight int
	held     int
	lease    *time.Timer
	gen      int // pause generation, so a stale lease never resumes a newer pause
	switches int
}

// New opens a pool on dsn.
func New(ctx context.Context, dsn string, opts Options) (*Pool, error) {
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Second
	}
	pp, err := open(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	p := &Pool{opts: opts, pool: pp, dsn: dsn}
	p.cond = sync.NewCond(&p.mu)
	return p, nil
}

func open(ctx context.Context, dsn string, opts Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgxswitch: %w", err)
	}
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	pp, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgxswitch: %w", err)
	}
	if err := pp.Ping(ctx); err != nil {
		pp.Close()
		return nil, fmt.Errorf("pgxswitch: %w", err)
	}
	return pp, nil
}

// enter waits while paused, then counts one unit of work in flight and
// returns the pool to run it on.
func (p *Pool) enter(ctx context.Context) (*pgxpool.Pool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		p.held++
		stop := context.AfterFunc(ctx, func() { p.mu.Lock(); p.cond.Broadcast(); p.mu.Unlock() })
		for p.paused && ctx.Err() == nil {
			p.cond.Wait()
		}
		stop()
		p.held--
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	p.inflight++
	return p.pool, nil
}

func (p *Pool) leave() {
	p.mu.Lock()
	p.inflight--
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Exec runs one statement (its own transaction unless inside one).
func (p *Pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	pp, err := p.enter(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer p.leave()
	return pp.Exec(ctx, sql, args...)
}

// QueryRow runs a query and scans its one row into dest.
func (p *Pool) QueryRow(ctx context.Context, dest []any, sql string, args ...any) error {
	pp, err := p.enter(ctx)
	if err != nil {
		return err
	}
	defer p.leave()
	return pp.QueryRow(ctx, sql, args...).Scan(dest...)
}

// WithTx runs fn in a transaction, committed when fn returns nil. The
// transaction is one unit of work: a pause waits for it, a switch happens
// before or after it, never inside.
func (p *Pool) WithTx(ctx context.Context, fn func(pgx.Tx) error) error {
	pp, err := p.enter(ctx)
	if err != nil {
		return err
	}
	defer p.leave()
	return pgx.BeginFunc(ctx, pp, fn)
}

// Status is what the coordinator sees of a pool.
type Status struct {
	Backend  string `json:"backend"` // host:port/db, never the password
	Paused   bool   `json:"paused"`
	InFlight int    `json:"in_flight"`
	Held     int    `json:"held"`
	Switches int    `json:"switches"`
	Prepared bool   `json:"prepared"` // a switch waits for Resume to commit it
}

// Status reports the pool's state.
func (p *Pool) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.pool.Config().ConnConfig
	return Status{Backend: fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database), Paused: p.paused, InFlight: p.inflight, Held: p.held, Switches: p.switches, Prepared: p.pending != nil}
}

// Pause holds new units of work and returns once none is in flight, or
// fails (and resumes) when ctx ends first. The pause is a lease.
func (p *Pool) Pause(ctx context.Context) error {
	p.mu.Lock()
	p.paused = true
	p.gen++
	gen := p.gen
	if p.lease != nil {
		p.lease.Stop()
	}
	p.lease = time.AfterFunc(p.opts.Lease, func() { p.expire(gen) })
	stop := context.AfterFunc(ctx, func() { p.mu.Lock(); p.cond.Broadcast(); p.mu.Unlock() })
	for p.inflight > 0 && ctx.Err() == nil {
		p.cond.Wait()
	}
	stop()
	err := ctx.Err()
	p.mu.Unlock()
	if err != nil {
		p.Rollback()
		return fmt.Errorf("pgxswitch: %d unit(s) of work still running (%w); resumed", p.Status().InFlight, err)
	}
	return nil
}

// expire rolls back a pause whose lease ran out (the coordinator is gone).
func (p *Pool) expire(gen int) { p.rollback(gen) }

// ErrNotPaused: Switch needs a drained pool.
var ErrNotPaused = errors.New("pgxswitch: switch needs a paused pool")

// Switch prepares the move to dsn: it opens a pool there and checks it; the
// next Resume swaps it in (Rollback discards it). The pool must be paused
// and drained; it stays paused.
func (p *Pool) Switch(ctx context.Context, dsn string) error {
	p.mu.Lock()
	if !p.paused || p.inflight > 0 {
		p.mu.Unlock()
		return ErrNotPaused
	}
	p.mu.Unlock()
	np, err := p.openAt(ctx, dsn)
	if err != nil {
		return err
	}
	p.mu.Lock()
	if !p.paused || p.inflight > 0 { // the lease ran out meanwhile
		p.mu.Unlock()
		np.Close()
		return errors.New("pgxswitch: the pause ended (lease expired) before the switch")
	}
	old := p.pending
	p.pending = np
	p.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// openAt opens a pool like the current one (user, password, settings) on
// the host, port and database of dsn, so the coordinator never has to send
// the application's credentials: a DSN with a user or password of its own
// overrides them.
func (p *Pool) openAt(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	target, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgxswitch: %w", err)
	}
	p.mu.Lock()
	cfg := p.pool.Config().Copy()
	p.mu.Unlock()
	cc := cfg.ConnConfig
	cc.Host, cc.Port, cc.Database, cc.Fallbacks = target.Host, target.Port, target.Database, nil
	if u, ok := userIn(dsn); ok {
		cc.User, cc.Password = u, target.Password
	}
	if opts := p.opts; opts.Configure != nil {
		opts.Configure(cfg)
	}
	pp, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgxswitch: %w", err)
	}
	if err := pp.Ping(ctx); err != nil {
		pp.Close()
		return nil, fmt.Errorf("pgxswitch: cannot reach the new cluster: %w", err)
	}
	return pp, nil
}

// userIn reports the user a DSN names explicitly (URL userinfo or user=).
func userIn(dsn string) (string, bool) {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if u.User != nil && u.User.Username() != "" {
			return u.User.Username(), true
		}
		return "", false
	}
	for _, f := range strings.Fields(dsn) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == "user" {
			return strings.Trim(v, "'"), true
		}
	}
	return "", false
}

// Resume commits a prepared switch (if any) and releases held work.
func (p *Pool) Resume() {
	p.mu.Lock()
	var old *pgxpool.Pool
	if p.pending != nil {
		old, p.pool, p.pending = p.pool, p.pending, nil
		p.switches++
	}
	p.paused = false
	if p.lease != nil {
		p.lease.Stop()
		p.lease = nil
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// Rollback discards a prepared switch and releases held work onto the
// cluster the pool was using.
func (p *Pool) Rollback() { p.rollback(-1) }

// rollback discards a prepared switch and releases held work; with gen >=
// 0 only if that pause is still the current one (a stale lease does
// nothing).
func (p *Pool) rollback(gen int) {
	p.mu.Lock()
	if gen >= 0 && (!p.paused || p.gen != gen) {
		p.mu.Unlock()
		return
	}
	pending := p.pending
	p.pending, p.paused = nil, false
	if p.lease != nil {
		p.lease.Stop()
		p.lease = nil
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	if pending != nil {
		pending.Close()
	}
}

// Close closes the pool.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lease != nil {
		p.lease.Stop()
	}
	p.pool.Close()
}

// stripPassword rewrites a URL DSN without its password (a key=value one
// loses password=...), so a switch never sends credentials.
func stripPassword(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		q.Del("password")
		u.RawQuery = q.Encode()
		return u.String()
	}
	var out []string
	for _, f := range strings.Fields(dsn) {
		if k, _, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == "password" {
			continue
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}
