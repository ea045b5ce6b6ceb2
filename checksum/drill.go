package checksum

// Narrowing a differing range down to rows.

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// drill narrows a differing range down to rows: split until small, then
// compare row by row.
func drill(ctx context.Context, p *pair, j *tableJob, r keyRange, ns, nt int64, slot *rangeResult, opts Options) error {
	return drillDepth(ctx, p, j, r, ns, nt, slot, opts, 0)
}

// maxDrillDepth bounds recursion: each level cuts a range into ~16 pieces,
// so 16 levels cover any table; deeper means the split is not shrinking.
const maxDrillDepth = 16

func drillDepth(ctx context.Context, p *pair, j *tableJob, r keyRange, ns, nt int64, slot *rangeResult, opts Options, depth int) error {
	if depth > maxDrillDepth {
		return fmt.Errorf("drill-down did not converge after %d splits of a differing range (keys do not order consistently); please report this", maxDrillDepth)
	}
	if j.budget.Load() <= 0 {
		slot.truncated = true
		return nil
	}
	if max(ns, nt) <= opts.LeafRows {
		diffs, err := compareLeaf(ctx, p.src, p.tgt, j, r)
		if err != nil {
			return err
		}
		if len(diffs) > 0 {
			slot.leaves = append(slot.leaves, r)
			if left := j.budget.Add(-int64(len(diffs))); left < 0 {
				keep := len(diffs) + int(left)
				if keep < 0 {
					keep = 0
				}
				diffs = diffs[:keep]
				slot.truncated = true
			}
			slot.diffs = append(slot.diffs, diffs...)
		}
		return nil
	}
	// Split on the side with more rows into about 16 pieces.
	conn, s := p.src, &j.ssql
	n := ns
	if nt > ns {
		conn, s, n = p.tgt, &j.tsql, nt
	}
	step := (n + 15) / 16
	q, args := s.splitQuery(r, step)
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	var cuts []bound
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		b := make(bound, len(vals))
		for i, v := range vals {
			b[i] = v.(string)
		}
		cuts = append(cuts, b)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	lo := r.lo
	var subs []keyRange
	for _, c := range cuts {
		subs = append(subs, keyRange{lo: lo, hi: c})
		lo = c
	}
	subs = append(subs, keyRange{lo: lo, hi: r.hi})
	for _, sub := range subs {
		if sub.lo != nil && sub.hi != nil && equalBound(sub.lo, sub.hi) {
			continue // empty: [c, c)
		}
		var hs, ht hashSum
		if err := both(
			func() (err error) { hs, err = rangeHash(ctx, p.src, &j.ssql, sub); return wrapSide("source", err) },
			func() (err error) { ht, err = rangeHash(ctx, p.tgt, &j.tsql, sub); return wrapSide("target", err) },
		); err != nil {
			return err
		}
		if hs == ht {
			continue
		}
		if len(subs) == 1 {
			// Could not split (one huge key run): compare row by row anyway.
			diffs, err := compareLeaf(ctx, p.src, p.tgt, j, sub)
			if err != nil {
				return err
			}
			slot.leaves = append(slot.leaves, sub)
			slot.diffs = append(slot.diffs, diffs...)
			j.budget.Add(-int64(len(diffs)))
			continue
		}
		if sameRange(sub, r) {
			// The cut did not shrink the range: never recurse on it again.
			return fmt.Errorf("cannot split a differing range of %d rows: its cut points do not narrow it (keys do not order consistently); please report this", max(hs.count, ht.count))
		}
		if err := drillDepth(ctx, p, j, sub, hs.count, ht.count, slot, opts, depth+1); err != nil {
			return err
		}
	}
	return nil
}

type leafRow struct {
	key  []string
	h    int64
	cols []colHash // only from keysQuery
}

// colHash is one column's hash in one row; NULL values have no hash.
type colHash struct {
	v    int64
	null bool
}

func scanLeafRow(vals []any, nk int, withCols bool) leafRow {
	lr := leafRow{key: make([]string, nk)}
	for i := 0; i < nk; i++ {
		lr.key[i] = vals[i].(string)
	}
	lr.h = vals[nk].(int64)
	if withCols {
		for _, h := range vals[nk+1].([]any) {
			if h == nil {
				lr.cols = append(lr.cols, colHash{null: true})
			} else {
				lr.cols = append(lr.cols, colHash{v: h.(int64)})
			}
		}
	}
	return lr
}

func fetchLeaf(ctx context.Context, conn *pgx.Conn, s *sideSQL, r keyRange) ([]leafRow, error) {
	q, args := s.leafQuery(r)
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []leafRow
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, scanLeafRow(vals, len(s.keyCols), false))
	}
	return out, rows.Err()
}

// keyBatch bounds the keys sent in one keysQuery.
const keyBatch = 5000

// fetchKeys reads rows by key (those that exist), with column hashes.
func fetchKeys(ctx context.Context, conn *pgx.Conn, s *sideSQL, keys [][]string) (map[string]leafRow, error) {
	out := make(map[string]leafRow, len(keys))
	nk := len(s.keyCols)
	q := s.keysQuery()
	for start := 0; start < len(keys); start += keyBatch {
		batch := keys[start:min(start+keyBatch, len(keys))]
		args := make([]any, nk)
		for c := 0; c < nk; c++ {
			col := make([]string, len(batch))
			for i, k := range batch {
				col[i] = k[c]
			}
			args[c] = col
		}
		rows, err := conn.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				rows.Close()
				return nil, err
			}
			lr := scanLeafRow(vals, nk, true)
			out[joinKey(lr.key)] = lr
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func compareLeaf(ctx context.Context, sc, tc *pgx.Conn, j *tableJob, r keyRange) ([]rowDiff, error) {
	var srows, trows []leafRow
	if err := both(
		func() (err error) { srows, err = fetchLeaf(ctx, sc, &j.ssql, r); return wrapSide("source", err) },
		func() (err error) { trows, err = fetchLeaf(ctx, tc, &j.tsql, r); return wrapSide("target", err) },
	); err != nil {
		return nil, err
	}
	return diffLeaves(srows, trows), nil
}

func joinKey(k []string) string { return strings.Join(k, "\x00") }

func hptr(v int64) *int64 { return &v }

// diffLeaves compares rows by key text; source order first, then extras in
// target order.
func diffLeaves(srows, trows []leafRow) []rowDiff {
	tby := make(map[string]int, len(trows))
	for i, r := range trows {
		tby[joinKey(r.key)] = i
	}
	seen := make([]bool, len(trows))
	var out []rowDiff
	for _, s := range srows {
		i, ok := tby[joinKey(s.key)]
		if !ok {
			out = append(out, rowDiff{kind: DiffMissing, key: s.key, srcH: hptr(s.h)})
			continue
		}
		seen[i] = true
		if s.h != trows[i].h {
			out = append(out, rowDiff{kind: DiffChanged, key: s.key, srcH: hptr(s.h), tgtH: hptr(trows[i].h)})
		}
	}
	for i, t := range trows {
		if !seen[i] {
			out = append(out, rowDiff{kind: DiffExtra, key: t.key, tgtH: hptr(t.h)})
		}
	}
	return out
}

// diffByKey compares one key's rows fetched by key on both sides; ok is
// false when they agree (or the row is gone from both).
func diffByKey(key []string, s, t leafRow, inS, inT bool) (rowDiff, bool) {
	switch {
	case inS && inT:
		if s.h == t.h {
			return rowDiff{}, false
		}
		return rowDiff{kind: DiffChanged, key: key, srcH: hptr(s.h), tgtH: hptr(t.h), src: s.cols, tgt: t.cols}, true
	case inS:
		return rowDiff{kind: DiffMissing, key: key, srcH: hptr(s.h)}, true
	case inT:
		return rowDiff{kind: DiffExtra, key: key, tgtH: hptr(t.h)}, true
	}
	return rowDiff{}, false
}

// fillColumns fetches per-column hashes of changed rows on both sides, to
// name the differing columns.
func fillColumns(ctx context.Context, sc, tc *pgx.Conn, j *tableJob, diffs []rowDiff) error {
	var keys [][]string
	for _, d := range diffs {
		if d.kind == DiffChanged && d.src == nil {
			keys = append(keys, d.key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	var srows, trows map[string]leafRow
	if err := both(
		func() (err error) { srows, err = fetchKeys(ctx, sc, &j.ssql, keys); return wrapSide("source", err) },
		func() (err error) { trows, err = fetchKeys(ctx, tc, &j.tsql, keys); return wrapSide("target", err) },
	); err != nil {
		return err
	}
	for i := range diffs {
		d := &diffs[i]
		if d.kind == DiffChanged && d.src == nil {
			k := joinKey(d.key)
			d.src, d.tgt = srows[k].cols, trows[k].cols
		}
	}
	return nil
}
