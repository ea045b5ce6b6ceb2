package checksum

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// compareNoKey lists the differing rows of a table without a primary key:
// both sides stream (row hash, multiplicity) in hash order and are merged;
// the rows behind differing hashes are then fetched by hash. Tables larger
// than NoKeyDiffRows are reported as different without rows listed.
func compareNoKey(ctx context.Context, p *pair, j *tableJob, slot *rangeResult, opts Options) error {
	if max(slot.srcCount, slot.tgtCount) > opts.NoKeyDiffRows {
		j.res.Notes = append(j.res.Notes, fmt.Sprintf("%v (%d rows > %d)", errNoKeyTooBig, max(slot.srcCount, slot.tgtCount), opts.NoKeyDiffRows))
		slot.truncated = true
		return nil
	}
	var sh, th []hashCount
	if err := both(
		func() (err error) { sh, err = hashCounts(ctx, p.src, &j.ssql); return wrapSide("source", err) },
		func() (err error) { th, err = hashCounts(ctx, p.tgt, &j.tsql); return wrapSide("target", err) },
	); err != nil {
		return err
	}
	missing, extra := mergeHashCounts(sh, th, opts.MaxDiffs)
	if len(missing)+len(extra) == 0 {
		return nil
	}
	var srows, trows map[int64][]*string
	if err := both(
		func() (err error) {
			srows, err = rowsByHash(ctx, p.src, j, &j.ssql, missing)
			return wrapSide("source", err)
		},
		func() (err error) {
			trows, err = rowsByHash(ctx, p.tgt, j, &j.tsql, extra)
			return wrapSide("target", err)
		},
	); err != nil {
		return err
	}
	for _, h := range missing {
		slot.diffs = append(slot.diffs, rowDiff{kind: DiffMissing, row: srows[h]})
	}
	for _, h := range extra {
		slot.diffs = append(slot.diffs, rowDiff{kind: DiffExtra, row: trows[h]})
	}
	if len(missing)+len(extra) >= opts.MaxDiffs {
		slot.truncated = true
	}
	return nil
}

type hashCount struct {
	h int64
	n int64
}

func hashCounts(ctx context.Context, conn *pgx.Conn, s *sideSQL) ([]hashCount, error) {
	rows, err := conn.Query(ctx, s.noKeyHashQuery())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hashCount
	for rows.Next() {
		var hc hashCount
		if err := rows.Scan(&hc.h, &hc.n); err != nil {
			return nil, err
		}
		out = append(out, hc)
	}
	return out, rows.Err()
}

// mergeHashCounts returns the hashes with more copies on the source
// (missing on the target) and more on the target (extra), one entry per
// surplus copy, at most limit in all.
func mergeHashCounts(s, t []hashCount, limit int) (missing, extra []int64) {
	i, k := 0, 0
	add := func(dst *[]int64, h, n int64) {
		for ; n > 0 && len(missing)+len(extra) < limit; n-- {
			*dst = append(*dst, h)
		}
	}
	for (i < len(s) || k < len(t)) && len(missing)+len(extra) < limit {
		switch {
		case k >= len(t) || (i < len(s) && s[i].h < t[k].h):
			add(&missing, s[i].h, s[i].n)
			i++
		case i >= len(s) || t[k].h < s[i].h:
			add(&extra, t[k].h, t[k].n)
			k++
		default:
			if s[i].n > t[k].n {
				add(&missing, s[i].h, s[i].n-t[k].n)
			} else if t[k].n > s[i].n {
				add(&extra, t[k].h, t[k].n-s[i].n)
			}
			i++
			k++
		}
	}
	return missing, extra
}

func rowsByHash(ctx context.Context, conn *pgx.Conn, j *tableJob, s *sideSQL, hashes []int64) (map[int64][]*string, error) {
	out := map[int64][]*string{}
	if len(hashes) == 0 {
		return out, nil
	}
	rows, err := conn.Query(ctx, noKeyRowsQuery(s, j.srcCols), hashes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := len(j.srcCols)
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := make([]*string, n)
		for i := 0; i < n; i++ {
			if vals[i] != nil {
				v := vals[i].(string)
				row[i] = &v
			}
		}
		out[vals[n].(int64)] = row
	}
	return out, rows.Err()
}
