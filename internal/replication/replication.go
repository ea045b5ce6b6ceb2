package replication

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	//go:embed sql/subscriptions.sql
	subscriptionsSQL string
	//go:embed sql/source_slots.sql
	sourceSlotsSQL string
	//go:embed sql/slots_behind.sql
	slotsBehindSQL string
	//go:embed sql/current_lsn.sql
	currentLSNSQL string
	//go:embed sql/flush_lsn.sql
	flushLSNSQL string
)

// Querier is a *pgx.Conn, a pgx.Tx or a pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Link is the target's live subscription to the source.
type Link struct {
	// Subscriptions and Slots are parallel: subscription i uses slot i.
	Subscriptions []string
	Slots         []string
	// Active says whether a walsender currently streams from slot i.
	Active []bool
	waited atomic.Int64
}

// Detect returns the link, or nil when the target does not subscribe to the
// source (then a first comparison is final).
func Detect(ctx context.Context, src, tgt Querier) (*Link, error) {
	rows, err := tgt.Query(ctx, subscriptionsSQL)
	if err != nil {
		return nil, fmt.Errorf("target: listing subscriptions: %w", err)
	}
	bySlot := map[string]string{}
	var names []string
	for rows.Next() {
		var sub, slot string
		if err := rows.Scan(&sub, &slot); err != nil {
			rows.Close()
			return nil, fmt.Errorf("target: listing subscriptions: %w", err)
		}
		bySlot[slot] = sub
		names = append(names, slot)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("target: listing subscriptions: %w", err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	rows, err = src.Query(ctx, sourceSlotsSQL, names)
	if err != nil {
		return nil, fmt.Errorf("source: listing replication slots: %w", err)
	}
	l := &Link{}
	for rows.Next() {
		var slot string
		var active bool
		if err := rows.Scan(&slot, &active); err != nil {
			rows.Close()
			return nil, fmt.Errorf("source: listing replication slots: %w", err)
		}
		l.Subscriptions = append(l.Subscriptions, bySlot[slot])
		l.Slots = append(l.Slots, slot)
		l.Active = append(l.Active, active)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("source: listing replication slots: %w", err)
	}
	if len(l.Slots) == 0 {
		return nil, nil
	}
	return l, nil
}

// ActiveSlots are the slots a walsender streams from right now.
func (l *Link) ActiveSlots() []string {
	var out []string
	for i, s := range l.Slots {
		if l.Active[i] {
			out = append(out, s)
		}
	}
	return out
}

func (l *Link) String() string {
	return fmt.Sprintf("target subscription %s via source slot %s", strings.Join(l.Subscriptions, ", "), strings.Join(l.Slots, ", "))
}

// CurrentLSN is a source WAL position past every commit the current
// snapshot of q sees (run it as the first statement of a REPEATABLE READ
// transaction to pair it with that snapshot).
func CurrentLSN(ctx context.Context, q Querier) (string, error) {
	var lsn string
	if err := q.QueryRow(ctx, currentLSNSQL).Scan(&lsn); err != nil {
		return "", fmt.Errorf("source: reading the WAL position: %w", err)
	}
	return lsn, nil
}

// Behind returns the slots that have not confirmed lsn.
func Behind(ctx context.Context, src Querier, slots []string, lsn string) ([]string, error) {
	rows, err := src.Query(ctx, slotsBehindSQL, slots, lsn)
	if err != nil {
		return nil, fmt.Errorf("source: reading slot progress: %w", err)
	}
	behind, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("source: reading slot progress: %w", err)
	}
	return behind, nil
}

// WaitFor waits, at most timeout, until the subscriber has applied every
// commit before lsn (a CurrentLSN read with the snapshot); it reports
// whether it did.
//
// lsn is an insert position: it can include WAL that is not flushed yet, and
// a walsender only sends flushed WAL. When nothing else commits, such a tail
// (non-commit records) can stay unflushed for seconds, and waiting for the
// slots to confirm lsn itself would wait for an unrelated flush. Every commit
// is flushed within three times wal_writer_delay, even an asynchronous one;
// so once that grace has passed since lsn was read, slots that confirmed the
// current flush position have every commit before lsn too.
func (l *Link) WaitFor(ctx context.Context, src Querier, lsn string, timeout time.Duration) (bool, error) {
	start := time.Now()
	defer func() { l.waited.Add(int64(time.Since(start))) }()
	deadline := start.Add(timeout)
	delay := 20 * time.Millisecond
	for {
		behind, err := Behind(ctx, src, l.Slots, lsn)
		if err != nil {
			return false, err
		}
		if len(behind) == 0 {
			return true, nil
		}
		var flush *string
		var graceMS float64
		if err := src.QueryRow(ctx, flushLSNSQL).Scan(&flush, &graceMS); err != nil {
			return false, fmt.Errorf("source: reading the WAL flush position: %w", err)
		}
		if flush != nil && time.Since(start) >= time.Duration(graceMS*float64(time.Millisecond)) {
			behind, err := Behind(ctx, src, l.Slots, *flush)
			if err != nil {
				return false, err
			}
			if len(behind) == 0 {
				return true, nil
			}
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

// Waited is the total time spent in WaitFor.
func (l *Link) Waited() time.Duration { return time.Duration(l.waited.Load()) }
