package failover

import (
	"context"
	"sync"

	"github.com/pgverify/pgverify/failover/pgbouncer"
	"github.com/pgverify/pgverify/failover/pgxswitch"
)

// PgBouncerDriver lets the switch drive a PgBouncer (failover/pgbouncer):
// bounded PAUSE, [databases] rewrite or switch-cmd, RELOAD, RESUME. Its
// Clients checks the PgBouncer first (pool mode, database, ini), so a
// PgBouncer that could not be switched stops the run before the pause.
func PgBouncerDriver(spec pgbouncer.Spec) Driver {
	return &bouncerDriver{d: pgbouncer.New(spec)}
}

type bouncerDriver struct {
	d       *pgbouncer.Driver
	once    sync.Once
	checked error
}

func (b *bouncerDriver) Name() string                     { return b.d.Name() }
func (b *bouncerDriver) Pause(ctx context.Context) error  { return b.d.Pause(ctx) }
func (b *bouncerDriver) Resume(ctx context.Context) error { return b.d.Resume(ctx) }
func (b *bouncerDriver) Close() error                     { b.d.Close(); return nil }

func (b *bouncerDriver) Switch(ctx context.Context, dsn string) (SwitchInfo, error) {
	return SwitchInfo{}, b.d.Switch(ctx, dsn)
}

// Clients lists the database's clients. PgBouncer does not say which of
// them are inside a transaction (its PAUSE waits for them), so they are
// reported idle and the grace period cannot terminate them: a transaction
// that outlives --timeout rolls the switch back instead.
func (b *bouncerDriver) Clients(ctx context.Context) ([]Client, error) {
	b.once.Do(func() { b.checked = b.d.Check(ctx) })
	if b.checked != nil {
		return nil, b.checked
	}
	cs, err := b.d.Clients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Client, len(cs))
	for i, c := range cs {
		out[i] = Client{User: c.User, Addr: c.Addr, ApplicationName: c.ApplicationName, State: "idle"}
	}
	return out, nil
}

// AppDriver lets the switch drive an application that embeds
// failover/pgxswitch, through its HTTP control endpoint.
func AppDriver(url, token string) Driver {
	return &appDriver{m: &pgxswitch.Member{URL: url, Token: token}}
}

type appDriver struct{ m *pgxswitch.Member }

func (a *appDriver) Name() string                     { return a.m.Name() }
func (a *appDriver) Pause(ctx context.Context) error  { return a.m.Pause(ctx) }
func (a *appDriver) Resume(ctx context.Context) error { return a.m.Resume(ctx) }
func (a *appDriver) Close() error                     { return nil }

func (a *appDriver) Switch(ctx context.Context, dsn string) (SwitchInfo, error) {
	return SwitchInfo{}, a.m.Switch(ctx, dsn)
}

// Rollback discards a prepared switch and releases the pool where it was.
func (a *appDriver) Rollback(ctx context.Context) error { return a.m.Rollback(ctx) }

// Clients reaches the application; its pool's sessions are not listed one
// by one (its pause waits for its own units of work).
func (a *appDriver) Clients(ctx context.Context) ([]Client, error) {
	return nil, a.m.Check(ctx)
}
