package checksum

import (
	"context"
	"fmt"
	"time"

	"github.com/pgverify/pgverify/internal/replication"
)

// recheck re-reads the rows that differed in the snapshot, by key, each
// time with fresh snapshots taken after the target has applied everything
// the source had committed, a bounded number of times with backoff. Only
// the keys that differed at first are followed (rows written meanwhile are
// not new findings): a key that now matches was replication lag; a key
// showing the very same difference again after catch-up is real; a key
// whose values keep changing is unstable.
func recheck(ctx context.Context, j *tableJob, src, tgt *side, live *replication.Link, opts Options) error {
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
		if err := sleepCtx(ctx, time.Duration(100<<(attempt-1))*time.Millisecond); err != nil {
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
			case caught && lastCaught && sameDifference(prev, d):
				confirmed[k] = stableColumns(prev, d)
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
	// Count before the --max-diffs cut: rows past it are still differences.
	if resolved := initial - len(final); resolved > 0 {
		j.res.Notes = append(j.res.Notes, fmt.Sprintf("%d row difference(s) seen in the snapshot matched once the target caught up (replication lag)", resolved))
	}
	j.res.DifferenceCount = len(final)
	if len(final) > opts.MaxDiffs {
		final, j.res.DifferencesTruncated = final[:opts.MaxDiffs], true
	}
	j.res.Differences = toDifferences(j, final)
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

// sameDifference: two observations after catch-up show the same
// difference. A row missing (or extra) both times is; a changed row is
// when at least one column differed both times with the same values on
// both sides, whatever its other columns did meanwhile (a hot row keeps
// changing on the source and replicating).
func sameDifference(prev, now rowDiff) bool {
	if prev.kind != now.kind {
		return false
	}
	if now.kind != DiffChanged {
		return true // same key (the map key), absent on the same side
	}
	if prev.src == nil || now.src == nil || len(prev.src) != len(now.src) || len(prev.tgt) != len(now.tgt) {
		return prev.fingerprint() == now.fingerprint()
	}
	for i := range now.src {
		if now.src[i] != now.tgt[i] && prev.src[i] == now.src[i] && prev.tgt[i] == now.tgt[i] {
			return true
		}
	}
	return false
}

// stableColumns keeps, of a changed row confirmed by sameDifference, the
// columns that differed alike in both observations: the others were in
// flight.
func stableColumns(prev, now rowDiff) rowDiff {
	if now.kind != DiffChanged || prev.src == nil || now.src == nil || len(prev.src) != len(now.src) || len(prev.tgt) != len(now.tgt) {
		return now
	}
	tgt := append([]colHash(nil), now.tgt...)
	for i := range now.src {
		if !(prev.src[i] == now.src[i] && prev.tgt[i] == now.tgt[i]) {
			tgt[i] = now.src[i] // not a persistent difference
		}
	}
	now.tgt = tgt
	return now
}

// rereadKeys reads keys on a fresh source snapshot, waits for the target to
// apply past it, then reads them on a fresh target snapshot. It returns the
// keys that still differ.
func rereadKeys(ctx context.Context, j *tableJob, src, tgt *side, live *replication.Link, keys [][]string, opts Options) (map[string]rowDiff, bool, error) {
	sc, err := src.fresh(ctx)
	if err != nil {
		return nil, false, err
	}
	defer sc.Close(context.Background())
	// The first statement takes the snapshot; the LSN read with it is past
	// every commit the snapshot sees.
	lsn, err := replication.CurrentLSN(ctx, sc)
	if err != nil {
		return nil, false, err
	}
	srows, err := fetchKeys(ctx, sc, &j.ssql, keys)
	if err != nil {
		return nil, false, fmt.Errorf("source: %w", err)
	}
	// Poll on this re-check's own connection: re-checks run concurrently and
	// a pgx connection serves one query at a time. pg_replication_slots is
	// shared memory, not MVCC, so the open snapshot does not freeze it.
	caught, err := live.WaitFor(ctx, sc, lsn, opts.CatchUpTimeout)
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
func recheckNoKey(ctx context.Context, j *tableJob, src, tgt *side, live *replication.Link, opts Options) error {
	var prev hashSum2
	for _, s := range j.slots {
		prev = hashSum2{hashSum{s.srcCount, s.srcSum}, hashSum{s.tgtCount, s.tgtSum}}
	}
	lastCaught := j.caughtUp
	for attempt := 1; attempt <= opts.Rechecks; attempt++ {
		j.res.Rechecks = attempt
		if err := sleepCtx(ctx, time.Duration(100<<(attempt-1))*time.Millisecond); err != nil {
			return err
		}
		sc, err := src.fresh(ctx)
		if err != nil {
			return err
		}
		var now hashSum2
		var caught bool
		lsn, err := replication.CurrentLSN(ctx, sc)
		if err == nil {
			now.s, err = rangeHash(ctx, sc, &j.ssql, keyRange{})
		}
		if err == nil {
			caught, err = live.WaitFor(ctx, sc, lsn, opts.CatchUpTimeout)
		}
		sc.Close(context.Background())
		if err != nil {
			return fmt.Errorf("source: %w", err)
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
