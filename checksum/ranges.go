package checksum

// Cutting tables into key ranges and hashing them on both sides.

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// planRanges cuts each keyed table into ranges from a block sample of the
// source's keys: no full scan, and the first and last ranges are open.
func planRanges(ctx context.Context, jobs []*tableJob, pool chan *pair, src, tgt *side, opts Options) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for _, j := range jobs {
		g.Go(func() error {
			t0 := time.Now()
			err := withPair(gctx, pool, src, tgt, func(p *pair) error {
				ranges, err := sampleRanges(gctx, p.src, j, opts.RangeRows)
				j.ranges = ranges
				return err
			})
			j.mark(t0)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				j.fail(fmt.Errorf("planning ranges: %w", err))
				j.ranges = nil
			}
			j.slots = make([]rangeResult, len(j.ranges))
			j.pending.Store(int64(len(j.ranges)))
			return nil
		})
	}
	return g.Wait()
}

func sampleRanges(ctx context.Context, conn *pgx.Conn, j *tableJob, rangeRows int64) ([]keyRange, error) {
	whole := []keyRange{{}}
	if len(j.key) == 0 || j.collateC {
		// COLLATE "C" bounds cannot use the key's index: each range would
		// be a full scan, so the table is hashed in one.
		return whole, nil
	}
	var bytes int64
	// pg_partition_tree lists nothing for a plain table, every partition for
	// a partitioned one.
	if err := conn.QueryRow(ctx, `SELECT COALESCE((SELECT pg_catalog.sum(pg_catalog.pg_relation_size(relid))
		FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid::pg_catalog.regclass)), pg_catalog.pg_relation_size($1::pg_catalog.oid::pg_catalog.regclass))::int8`,
		int64(j.src.OID)).Scan(&bytes); err != nil {
		return nil, err
	}
	pages := float64(bytes) / 8192
	est := j.src.EstRows
	haveStats := j.src.Pages > 0 && est > 0
	if haveStats {
		est = est / float64(j.src.Pages) * pages // scale a stale estimate to the current size
		if est < 1.5*float64(rangeRows) {
			return whole, nil
		}
	}
	if pages < 1 {
		return whole, nil
	}
	const perRange = 24 // sampled keys per range: enough to place cuts
	// SYSTEM samples whole pages: read at least ~64 of them, or a small
	// percentage of a mid-sized table returns nothing at all.
	pct := 64 / pages * 100
	if haveStats {
		pct = max(pct, float64(int(est/float64(rangeRows))*perRange)/est*100)
	}
	pct = min(max(pct, 0.0001), 100)
	rows, err := conn.Query(ctx, j.ssql.sampleQuery(), pct)
	if err != nil {
		return nil, err
	}
	var sample []bound
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		b := make(bound, len(vals))
		for i, v := range vals {
			b[i] = v.(string)
		}
		sample = append(sample, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !haveStats {
		// Never analyzed: the sample tells the row count.
		est = float64(len(sample)) * 100 / pct
	}
	j.src.EstRows = est
	n := min(int(est/float64(rangeRows)), len(sample))
	if n < 2 {
		return whole, nil
	}
	var cuts []bound
	for i := 1; i < n; i++ {
		c := sample[i*len(sample)/n]
		if len(cuts) > 0 && equalBound(cuts[len(cuts)-1], c) {
			continue
		}
		cuts = append(cuts, c)
	}
	ranges := make([]keyRange, 0, len(cuts)+1)
	var lo bound
	for _, c := range cuts {
		ranges = append(ranges, keyRange{lo: lo, hi: c})
		lo = c
	}
	return append(ranges, keyRange{lo: lo}), nil
}

func sameRange(a, b keyRange) bool {
	return (a.lo == nil) == (b.lo == nil) && (a.hi == nil) == (b.hi == nil) && equalBound(a.lo, b.lo) && equalBound(a.hi, b.hi)
}

func equalBound(a, b bound) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hashRanges hashes every range of every table on both sides at once, and
// drills into the ones that differ.
func hashRanges(ctx context.Context, jobs []*tableJob, pool chan *pair, src, tgt *side, opts Options, lsn string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	// Interleave big tables' ranges so one huge table does not run alone at the end.
	type task struct {
		j *tableJob
		i int
	}
	var tasks []task
	for round := 0; ; round++ {
		added := false
		for _, j := range jobs {
			if round < len(j.ranges) {
				tasks = append(tasks, task{j, round})
				added = true
			}
		}
		if !added {
			break
		}
	}
	for _, t := range tasks {
		g.Go(func() error {
			j := t.j
			if j.failed() {
				return nil
			}
			t0 := time.Now()
			err := withPair(gctx, pool, src, tgt, func(p *pair) error {
				return compareRange(gctx, p, j, t.i, opts)
			})
			j.mark(t0)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				j.fail(err)
			}
			opts.Progress.Advance(j.slots[t.i].srcCount)
			if j.pending.Add(-1) == 0 && opts.State != nil {
				// The table's last range: record it at once if it is equal,
				// so an interrupted run keeps it.
				if err := recordIfEqual(j, opts.State, lsn); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// recordIfEqual writes a table whose every range was equal to the state.
func recordIfEqual(j *tableJob, st *State, lsn string) error {
	if j.failed() {
		return nil
	}
	var ns, nt int64
	for _, s := range j.slots {
		if s.srcCount != s.tgtCount || s.srcSum != s.tgtSum {
			return nil
		}
		ns, nt = ns+s.srcCount, nt+s.tgtCount
	}
	return st.record(stateTable{Schema: j.src.Schema, Name: j.src.Name, Fingerprint: j.fp, SnapshotLSN: lsn,
		RowsSource: ns, RowsTarget: nt, VerifiedAt: time.Now().UTC()})
}

type hashSum struct {
	count int64
	sum   string
}

func rangeHash(ctx context.Context, conn *pgx.Conn, s *sideSQL, r keyRange) (hashSum, error) {
	q, args := s.hashQuery(r)
	var h hashSum
	err := conn.QueryRow(ctx, q, args...).Scan(&h.count, &h.sum)
	return h, err
}

func compareRange(ctx context.Context, p *pair, j *tableJob, i int, opts Options) error {
	r := j.ranges[i]
	var hs, ht hashSum
	if err := both(
		func() (err error) { hs, err = rangeHash(ctx, p.src, &j.ssql, r); return wrapSide("source", err) },
		func() (err error) { ht, err = rangeHash(ctx, p.tgt, &j.tsql, r); return wrapSide("target", err) },
	); err != nil {
		return err
	}
	slot := &j.slots[i]
	slot.srcCount, slot.tgtCount, slot.srcSum, slot.tgtSum = hs.count, ht.count, hs.sum, ht.sum
	if hs == ht {
		return nil
	}
	if len(j.key) == 0 {
		return compareNoKey(ctx, p, j, slot, opts)
	}
	return drill(ctx, p, j, r, hs.count, ht.count, slot, opts)
}
