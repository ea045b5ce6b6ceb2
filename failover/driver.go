package failover

import (
	"context"
	"time"
)

// Driver is what the switch needs from whatever routes the application's
// sessions: pgverify proxy's admin console today (failover/proxyctl), other
// poolers or an in-application library later.
type Driver interface {
	// Name identifies the driver in reports (an address, never a password).
	Name() string
	// Pause holds every session's next transaction and returns once no
	// session is inside one, or fails when ctx ends first (the driver then
	// undoes its pause).
	Pause(ctx context.Context) error
	// Switch points every session at dsn; the driver must be paused.
	Switch(ctx context.Context, dsn string) (SwitchInfo, error)
	// Resume releases the held transactions.
	Resume(ctx context.Context) error
	// Clients lists the sessions with their state and backend process id.
	Clients(ctx context.Context) ([]Client, error)
	// Close releases the driver's own connections.
	Close() error
}

// SwitchInfo is what one driver's switch did.
type SwitchInfo struct {
	Moved    int           `json:"moved"`
	Closed   int           `json:"closed"` // sessions whose state could not move (LISTEN, temp tables, ...)
	Failed   int           `json:"failed"` // sessions that could not be restored on the new backend
	Duration time.Duration `json:"-"`
	Notices  []string      `json:"notices,omitempty"`
}

// Client is one application session behind a driver.
type Client struct {
	ID              string `json:"id"`
	User            string `json:"user"`
	Database        string `json:"database"`
	Addr            string `json:"addr"`
	ApplicationName string `json:"application_name"`
	State           string `json:"state"` // idle, active, in transaction, failed transaction, held
	BackendPID      int    `json:"backend_pid"`
}

// InTransaction says whether the session is inside a transaction (or has
// work in flight) and so keeps a pause from completing.
func (c Client) InTransaction() bool {
	switch c.State {
	case "active", "in transaction", "failed transaction":
		return true
	}
	return false
}
