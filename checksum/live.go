package checksum

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
)

// replication is a live subscription of the target to the source, found by
// matching the target's subscription slot names with the source's slots.
type replication struct {
	subs  []string
	slots []string
	// waited is the total time spent waiting for catch-up, in nanoseconds.
	waited atomic.Int64
}

func (r *replication) describe() string {
	return fmt.Sprintf("target subscription %s via source slot %s", strings.Join(r.subs, ", "), strings.Join(r.slots, ", "))
}

// detectReplication returns nil when the target does not subscribe to the
// source (then the first comparison is final).
func detectReplication(ctx context.Context, src, tgt *pgx.Conn) (*replication, error) {
	rows, err := src.Query(ctx, sourceSlotsSQL)
	if err != nil {
		return nil, fmt.Errorf("source: listing replication slots: %w", err)
	}
	slots, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("source: listing replication slots: %w", err)
	}
	have := map[string]bool{}
	for _, s := range slots {
		have[s] = true
	}
	rows, err = tgt.Query(ctx, subscriptionsSQL)
	if err != nil {
		return nil, fmt.Errorf("target: listing subscriptions: %w", err)
	}
	r := &replication{}
	for rows.Next() {
		var name, slot string
		var enabled bool
		if err := rows.Scan(&name, &slot, &enabled); err != nil {
			return nil, err
		}
		if enabled && have[slot] {
			r.subs = append(r.subs, name)
			r.slots = append(r.slots, slot)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("target: listing subscriptions: %w", err)
	}
	if len(r.slots) == 0 {
		return nil, nil
	}
	return r, nil
}

// waitCaughtUp waits until the subscription slots confirm lsn, or timeout.
func (r *replication) waitCaughtUp(ctx context.Context, src *pgx.Conn, lsn string, timeout time.Duration) (bool, error) {
	start := time.Now()
	defer func() { r.waited.Add(int64(time.Since(start))) }()
	deadline := start.Add(timeout)
	delay := 20 * time.Millisecond
	for {
		var behind int64
		if err := src.QueryRow(ctx, slotsBehindSQL, r.slots, lsn).Scan(&behind); err != nil {
			return false, fmt.Errorf("source: reading slot progress: %w", err)
		}
		if behind == 0 {
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

// recheck re-reads the rows that differed in the snapshot, by key, each
// time with fresh snapshots taken after the target has applied everything
// the source had committed, a bounded number of times with backoff. Only
// the keys that differed at first are followed (rows written meanwhile are
// not new findings): a key that now matches was replication lag; a key
// showing the very same difference again after catch-up is real; a key
// whose values keep changing is unstable.
func recheck(ctx context.Context, j *tableJob, src, tgt *side, live *replication, opts Options) error {
	if len(j.key) == 0 {
		return recheckNoKey(ctx, j, src, tgt, live, opts)
	}
	unexplored := false
	for _, s := range j.slots {
		if (s.srcCount != s.tgtCount || s.srcSum != s.tgtSum) && len(s.leaves) == 0 {
			unexplored = true // drill-down stopped by the difference budget
		}
	}
	if len(j.diffs) == 0 {
		return nil
	}
	// last observation of each followed key; the snapshot pass counts as an
	// observation after catch-up when the first wait succeeded.
	last := map[string]rowDiff{}
	var order []string
	var keys [][]string
	for _, d := range j.diffs {
		k := joinKey(d.key)
		last[k] = d
		order = append(order, k)
		keys = append(keys, d.key)
	}
	initial := len(order)
	lastCaught := j.caughtUp
	confirmed := map[string]rowDiff{}
	for attempt := 1; attempt <= opts.Rechecks && len(last) > 0; attempt++ {
		j.res.Rechecks = attempt
		if err := sleepCtx(ctx, time.Duration(250<<(attempt-1))*time.Millisecond); err != nil {
			return err
		}
		var follow [][]string
		for _, k := range keys {
			if _, ok := last[joinKey(k)]; ok {
				follow = append(follow, k)
			}
		}
		now, caught, err := rereadKeys(ctx, j, src, tgt, live, follow, opts)
		if err != nil {
			return err
		}
		for k, prev := range last {
			d, still := now[k]
			switch {
			case !still:
				delete(last, k) // matches now: it was lag
			case caught && lastCaught && d.fingerprint() == prev.fingerprint():
				confirmed[k] = d
				delete(last, k)
			default:
				last[k] = d
			}
		}
		lastCaught = caught
	}
	var final []rowDiff
	unstable := 0
	for _, k := range order {
		if d, ok := confirmed[k]; ok {
			final = append(final, d)
		} else if d, ok := last[k]; ok {
			d.kind = DiffUnstable
			final = append(final, d)
			unstable++
		}
	}
	if len(final) > opts.MaxDiffs {
		final, j.res.DifferencesTruncated = final[:opts.MaxDiffs], true
	}
	j.res.Differences = toDifferences(j, final)
	if resolved := initial - len(final); resolved > 0 {
		j.res.Notes = append(j.res.Notes, fmt.Sprintf("%d row difference(s) seen in the snapshot matched once the target caught up (replication lag)", resolved))
	}
	switch {
	case unexplored:
		j.res.Status = StatusMismatch
	case len(final) == 0:
		j.res.Status = StatusMatch
	case unstable == len(final):
		j.res.Status = StatusUnstable
	default:
		j.res.Status = StatusMismatch
	}
	return nil
}

// rereadKeys reads keys on a fresh source snapshot, waits for the target to
// apply past it, then reads them on a fresh target snapshot. It returns the
// keys that still differ.
func rereadKeys(ctx context.Context, j *tableJob, src, tgt *side, live *replication, keys [][]string, opts Options) (map[string]rowDiff, bool, error) {
	sc, err := src.fresh(ctx)
	if err != nil {
		return nil, false, err
	}
	defer sc.Close(context.Background())
	// The first statement takes the snapshot; the LSN read with it is past
	// every commit the snapshot sees.
	var lsn string
	if err := sc.QueryRow(ctx, "SELECT pg_catalog.pg_current_wal_insert_lsn()::pg_catalog.text").Scan(&lsn); err != nil {
		return nil, false, fmt.Errorf("source: %w", err)
	}
	srows, err := fetchKeys(ctx, sc, &j.ssql, keys)
	if err != nil {
		return nil, false, fmt.Errorf("source: %w", err)
	}
	caught, err := live.waitCaughtUp(ctx, src.coord, lsn, opts.CatchUpTimeout)
	if err != nil {
		return nil, false, err
	}
	tc, err := tgt.fresh(ctx)
	if err != nil {
		return nil, false, err
	}
	defer tc.Close(context.Background())
	trows, err := fetchKeys(ctx, tc, &j.tsql, keys)
	if err != nil {
		return nil, false, fmt.Errorf("target: %w", err)
	}
	out := map[string]rowDiff{}
	for _, key := range keys {
		k := joinKey(key)
		s, inS := srows[k]
		t, inT := trows[k]
		if d, differ := diffByKey(key, s, t, inS, inT); differ {
			out[k] = d
		}
	}
	return out, caught, nil
}

// recheckNoKey re-hashes a whole table without a key on fresh snapshots
// after catch-up: equal hashes were lag; the same two hashes seen twice
// after catch-up are a real difference.
func recheckNoKey(ctx context.Context, j *tableJob, src, tgt *side, live *replication, opts Options) error {
	var prev hashSum2
	for _, s := range j.slots {
		prev = hashSum2{hashSum{s.srcCount, s.srcSum}, hashSum{s.tgtCount, s.tgtSum}}
	}
	lastCaught := j.caughtUp
	for attempt := 1; attempt <= opts.Rechecks; attempt++ {
		j.res.Rechecks = attempt
		if err := sleepCtx(ctx, time.Duration(250<<(attempt-1))*time.Millisecond); err != nil {
			return err
		}
		sc, err := src.fresh(ctx)
		if err != nil {
			return err
		}
		var lsn string
		var now hashSum2
		err = sc.QueryRow(ctx, "SELECT pg_catalog.pg_current_wal_insert_lsn()::pg_catalog.text").Scan(&lsn)
		if err == nil {
			now.s, err = rangeHash(ctx, sc, &j.ssql, keyRange{})
		}
		sc.Close(context.Background())
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		caught, err := live.waitCaughtUp(ctx, src.coord, lsn, opts.CatchUpTimeout)
		if err != nil {
			return err
		}
		tc, err := tgt.fresh(ctx)
		if err != nil {
			return err
		}
		now.t, err = rangeHash(ctx, tc, &j.tsql, keyRange{})
		tc.Close(context.Background())
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
		if now.s == now.t {
			j.res.Status = StatusMatch
			j.res.Differences = nil
			j.res.Notes = append(j.res.Notes, "the multiset difference seen in the snapshot matched once the target caught up (replication lag)")
			return nil
		}
		if caught && lastCaught && now == prev {
			return nil // the same difference again: real
		}
		prev, lastCaught = now, caught
	}
	return nil
}

// hashSum2 is one observation of both sides.
type hashSum2 struct{ s, t hashSum }

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
