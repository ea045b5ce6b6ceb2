package checksum

// Folding range results into each table's result.

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// collectDiffs gathers each table's differing rows and names the columns of
// the changed ones that will be reported, still inside the snapshots.
func collectDiffs(ctx context.Context, jobs []*tableJob, pool chan *pair, src, tgt *side, opts Options) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for _, j := range jobs {
		for _, s := range j.slots {
			j.diffs = append(j.diffs, s.diffs...)
		}
		j.diffs = reconcile(j.diffs)
		if j.err != nil || len(j.diffs) == 0 {
			continue
		}
		g.Go(func() error {
			show := j.diffs[:min(len(j.diffs), opts.MaxDiffs)]
			err := withPair(gctx, pool, src, tgt, func(p *pair) error { return fillColumns(gctx, p.src, p.tgt, j, show) })
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				j.fail(fmt.Errorf("reading changed rows: %w", err))
			}
			return nil
		})
	}
	return g.Wait()
}

// finishTable folds range results into the table result.
func finishTable(j *tableJob, opts Options) {
	r := j.res
	r.Ranges = len(j.ranges)
	diffs := j.diffs
	// A table differs when rows differ after reconciliation, or when a
	// differing range was not (or could not be) explored row by row. A
	// range whose differences reconciliation paired away is not a mismatch.
	mismatch := len(diffs) > 0
	for _, s := range j.slots {
		r.RowsSource += s.srcCount
		r.RowsTarget += s.tgtCount
		if (s.srcCount != s.tgtCount || s.srcSum != s.tgtSum) && (s.truncated || len(s.leaves) == 0 || len(j.key) == 0) {
			mismatch = true
		}
		if s.truncated {
			r.DifferencesTruncated = true
		}
	}
	if j.err != nil {
		r.Status, r.Error = StatusError, j.err.Error()
		return
	}
	r.DifferenceCount = len(diffs)
	if len(diffs) > opts.MaxDiffs {
		diffs, r.DifferencesTruncated = diffs[:opts.MaxDiffs], true
	}
	r.Differences = toDifferences(j, diffs)
	switch {
	case mismatch:
		r.Status = StatusMismatch
	default:
		r.Status = StatusMatch
	}
}

// reconcile pairs a row reported missing in one range with the same key
// reported extra in another: source and target placed it in different
// ranges because their collations order text differently (glibc or ICU
// version drift). Such a pair is one row: equal, or changed.
func reconcile(diffs []rowDiff) []rowDiff {
	extra := map[string]int{}
	for i, d := range diffs {
		if d.kind == DiffExtra && d.row == nil {
			extra[joinKey(d.key)] = i
		}
	}
	if len(extra) == 0 {
		return diffs
	}
	drop := map[int]bool{}
	for i, d := range diffs {
		if d.kind != DiffMissing || d.row != nil {
			continue
		}
		if k, ok := extra[joinKey(d.key)]; ok {
			drop[k] = true
			if *d.srcH == *diffs[k].tgtH {
				drop[i] = true
				continue
			}
			diffs[i] = rowDiff{kind: DiffChanged, key: d.key, srcH: d.srcH, tgtH: diffs[k].tgtH}
		}
	}
	if len(drop) == 0 {
		return diffs
	}
	out := diffs[:0:0]
	for i, d := range diffs {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out
}

func toDifferences(j *tableJob, diffs []rowDiff) []Difference {
	out := make([]Difference, 0, len(diffs))
	for _, d := range diffs {
		var key Key
		if d.row != nil {
			for i, c := range j.srcCols {
				key = append(key, KeyPart{Column: c.Name, Value: d.row[i]})
			}
		} else {
			for i, k := range j.key {
				v := d.key[i]
				key = append(key, KeyPart{Column: k, Value: &v})
			}
		}
		diff := Difference{Kind: d.kind, Key: key}
		if (d.kind == DiffChanged || d.kind == DiffUnstable) && d.src != nil && d.tgt != nil {
			for i, c := range j.srcCols {
				if i < len(d.src) && i < len(d.tgt) && d.src[i] != d.tgt[i] {
					diff.Columns = append(diff.Columns, c.Name)
				}
			}
		}
		out = append(out, diff)
	}
	return out
}
