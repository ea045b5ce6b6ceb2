package sampler

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/replication"
)

// settle re-checks differing rows after catch-up when the target
// subscribes to the source, then names the columns of rows that still
// differ. Only the keys that differed are followed: a key that now matches
// was replication lag; one that differs after every re-check is reported.
func settle(ctx context.Context, jobs []*job, src, tgt *pgx.Conn, live *replication.Link, res *Result, opts Options) error {
	if live != nil {
		rep := &Replication{Subscriptions: live.Subscriptions, Slots: live.Slots, CaughtUp: true}
		res.Replication = rep
		for round := 1; round <= opts.Rechecks && differing(jobs); round++ {
			lsn, err := replication.CurrentLSN(ctx, src)
			if err != nil {
				return err
			}
			ok, err := live.WaitFor(ctx, src, lsn, opts.CatchUpTimeout)
			if err != nil {
				return err
			}
			rep.Rounds = round
			rep.CaughtUp = rep.CaughtUp && ok
			for _, j := range jobs {
				if len(j.diffs) == 0 {
					continue
				}
				if err := recheck(ctx, src, tgt, j, opts); err != nil {
					j.res.Status, j.res.Reason = StatusError, oneLine(err.Error())
					j.diffs = map[int]string{}
				}
			}
		}
	}
	for _, j := range jobs {
		if len(j.diffs) == 0 {
			continue
		}
		if err := describe(ctx, src, tgt, j, opts); err != nil {
			j.res.Status, j.res.Reason = StatusError, oneLine(err.Error())
			j.diffs = map[int]string{}
		}
	}
	return ctx.Err()
}

func differing(jobs []*job) bool {
	for _, j := range jobs {
		if len(j.diffs) > 0 {
			return true
		}
	}
	return false
}

// diffKeys returns the differing sample indexes in order and their rows.
func diffKeys(j *job) ([]int, []sampledRow) {
	idx := make([]int, 0, len(j.diffs))
	for i := range j.diffs {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	rows := make([]sampledRow, len(idx))
	for n, i := range idx {
		rows[n] = j.sample[i]
	}
	return idx, rows
}

// recheck re-reads the differing keys on both sides, source first.
func recheck(ctx context.Context, src, tgt *pgx.Conn, j *job, opts Options) error {
	idx, rows := diffKeys(j)
	s, err := lookup(ctx, src, &j.srcSQL, rows, opts.BatchSize, false)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	t, err := lookup(ctx, tgt, &j.tgtSQL, rows, opts.BatchSize, false)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	for n, i := range idx {
		sf := s[n]
		var h int64
		if sf != nil {
			h = sf.hash
			j.sample[i].hash = h
		}
		if kind := compare(h, sf != nil, t[n]); kind != "" {
			j.diffs[i] = kind
		} else {
			delete(j.diffs, i)
		}
	}
	return nil
}

// describe names the differing columns of changed rows, reading each
// column's hash on both sides.
func describe(ctx context.Context, src, tgt *pgx.Conn, j *job, opts Options) error {
	idx, rows := diffKeys(j)
	s, err := lookup(ctx, src, &j.srcSQL, rows, opts.BatchSize, true)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	t, err := lookup(ctx, tgt, &j.tgtSQL, rows, opts.BatchSize, true)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	j.columns = map[int][]string{}
	for n, i := range idx {
		if j.diffs[i] != KindChanged || s[n] == nil || t[n] == nil {
			continue
		}
		var cols []string
		for c := range j.srcSQL.cols {
			a, b := s[n].columns[c], t[n].columns[c]
			if (a == nil) != (b == nil) || (a != nil && *a != *b) {
				cols = append(cols, j.srcSQL.cols[c].Name)
			}
		}
		j.columns[i] = cols
	}
	return nil
}

// finish fills a sampled table's result: counts, listed differences, bound.
func finish(j *job, opts Options) {
	r := j.res
	if r.Status == StatusError {
		return
	}
	r.Sampled = int64(len(j.sample))
	idx, _ := diffKeys(j)
	for _, i := range idx {
		kind := j.diffs[i]
		if kind == KindMissing {
			r.Missing++
		} else {
			r.Changed++
		}
		if len(r.Differences) < opts.MaxDiffs {
			r.Differences = append(r.Differences, Difference{Key: j.sample[i].key, Kind: kind, Columns: j.columns[i]})
		}
	}
	r.Differing = int64(len(idx))
	r.Status = StatusOK
	if r.Differing > 0 {
		r.Status = StatusDiffer
	}
	if r.Sampled == 0 {
		r.Notes = append(r.Notes, "the table is empty on the source: nothing to sample")
		return
	}
	switch r.Method {
	case All:
		b := float64(r.Differing) / float64(r.Sampled)
		r.UpperBound, r.BoundExact = &b, true
	default:
		b := UpperBound(r.Sampled, r.Differing, opts.Confidence)
		r.UpperBound = &b
		r.BoundApproximate = r.Method == System
	}
}

// summarize totals the tables. The overall bound holds for every table at
// once: with T sampled (not census) tables, each table's bound is taken at
// confidence 1-α/T (Bonferroni), and the largest is reported.
func summarize(res *Result) {
	s := &res.Summary
	s.Tables = len(res.Tables)
	sampled := 0
	for _, t := range res.Tables {
		switch t.Status {
		case StatusOK:
			s.OK++
		case StatusDiffer:
			s.Differ++
		case StatusSkipped:
			s.Skipped++
		case StatusError:
			s.Errors++
		}
		s.Sampled += t.Sampled
		s.Differing += t.Differing
		if t.UpperBound != nil && !t.BoundExact {
			sampled++
		}
	}
	alpha := 1 - res.Confidence
	var worst *float64
	for _, t := range res.Tables {
		if t.UpperBound == nil {
			continue
		}
		b := *t.UpperBound
		if !t.BoundExact {
			b = UpperBound(t.Sampled, t.Differing, 1-alpha/float64(sampled))
		}
		if worst == nil || b > *worst {
			worst = &b
		}
		s.BoundApproximate = s.BoundApproximate || t.BoundApproximate
	}
	if worst != nil && !math.IsNaN(*worst) {
		s.UpperBound = worst
	}
}
