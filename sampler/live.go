package sampler

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	//go:embed sql/subscriptions.sql
	subscriptionsSQL string
	//go:embed sql/slots_behind.sql
	slotsBehindSQL string
)

// replication is the target's live subscription to the source: the
// target's enabled subscriptions whose slots exist on the source.
type replication struct {
	subs, slots []string
}

// detectReplication returns nil when the target does not subscribe to the
// source; the first comparison is then final.
func detectReplication(ctx context.Context, src, tgt *pgx.Conn) (*replication, error) {
	rows, err := tgt.Query(ctx, subscriptionsSQL)
	if err != nil {
		return nil, fmt.Errorf("target: listing subscriptions: %w", err)
	}
	r := &replication{}
	for rows.Next() {
		var sub, slot string
		if err := rows.Scan(&sub, &slot); err != nil {
			rows.Close()
			return nil, fmt.Errorf("target: listing subscriptions: %w", err)
		}
		var present, behind int64
		if err := src.QueryRow(ctx, slotsBehindSQL, []string{slot}, "0/0").Scan(&present, &behind); err != nil {
			rows.Close()
			return nil, fmt.Errorf("source: reading replication slots: %w", err)
		}
		if present > 0 {
			r.subs, r.slots = append(r.subs, sub), append(r.slots, slot)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("target: listing subscriptions: %w", err)
	}
	if len(r.slots) == 0 {
		return nil, nil
	}
	return r, nil
}

// waitCaughtUp reads the source's current WAL position and waits, at most
// timeout, until every subscription slot has confirmed it: the target then
// holds everything the source had committed. It reports whether it did.
// This is the one place to swap for the tables command's catch-up logic.
func waitCaughtUp(ctx context.Context, src *pgx.Conn, r *replication, timeout time.Duration) (bool, error) {
	var lsn string
	if err := src.QueryRow(ctx, "SELECT pg_catalog.pg_current_wal_lsn()::pg_catalog.text").Scan(&lsn); err != nil {
		return false, fmt.Errorf("source: reading the WAL position: %w", err)
	}
	deadline := time.Now().Add(timeout)
	delay := 20 * time.Millisecond
	for {
		var present, behind int64
		if err := src.QueryRow(ctx, slotsBehindSQL, r.slots, lsn).Scan(&present, &behind); err != nil {
			return false, fmt.Errorf("source: reading slot progress: %w", err)
		}
		if behind == 0 && present == int64(len(r.slots)) {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}
