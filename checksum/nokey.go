package checksum

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// compareNoKey lists the differing rows of a table without a primary key:
// both sides stream (row hash, multiplicity) in hash order and are merged;
// the rows behind differing hashes are then fetched by hash. A table larger
// than NoKeyDiffRows is first summarised in hashBuckets buckets of the row
// hash (count and sum per bucket, one hash aggregate per side), and only
// the rows of differing buckets are streamed: the server never sorts the
// whole table, and the buckets do not depend on physical row order.
func compareNoKey(ctx context.Context, p *pair, j *tableJob, slot *rangeResult, opts Options) error {
	var buckets []int32
	if max(slot.srcCount, slot.tgtCount) > opts.NoKeyDiffRows {
		var err error
		if buckets, err = differingBuckets(ctx, p, j); err != nil {
			return err
		}
		if len(buckets) == 0 {
			return nil
		}
	}
	missing, extra, err := streamHashCounts(ctx, p, j, opts.MaxDiffs, buckets)
	if err != nil {
		return err
	}
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

// hashCount is one distinct row hash and its number of copies.
type hashCount struct {
	h int64
	n int64
}

// streamHashCounts merges both sides' (row hash, copies) streams, each in
// hash order, as they arrive: memory stays bounded whatever the table size.
func streamHashCounts(ctx context.Context, p *pair, j *tableJob, limit int, buckets []int32) (missing, extra []int64, err error) {
	sc, serr := streamSide(ctx, p.src, &j.ssql, buckets)
	tc, terr := streamSide(ctx, p.tgt, &j.tsql, buckets)
	s, sok := <-sc
	t, tok := <-tc
	add := func(dst *[]int64, h, n int64) {
		for ; n > 0 && len(missing)+len(extra) < limit; n-- {
			*dst = append(*dst, h)
		}
	}
	for (sok || tok) && len(missing)+len(extra) < limit {
		switch {
		case !tok || (sok && s.h < t.h):
			add(&missing, s.h, s.n)
			s, sok = <-sc
		case !sok || t.h < s.h:
			add(&extra, t.h, t.n)
			t, tok = <-tc
		default:
			if s.n > t.n {
				add(&missing, s.h, s.n-t.n)
			} else if t.n > s.n {
				add(&extra, t.h, t.n-s.n)
			}
			s, sok = <-sc
			t, tok = <-tc
		}
	}
	// Read both streams to the end rather than cancel them: cancelling a
	// query can cost the connection, which the worker still needs.
	for range sc {
	}
	for range tc {
	}
	if err := <-serr; err != nil {
		return nil, nil, wrapSide("source", err)
	}
	if err := <-terr; err != nil {
		return nil, nil, wrapSide("target", err)
	}
	return missing, extra, nil
}

// streamSide sends one side's (row hash, copies) in hash order.
func streamSide(ctx context.Context, conn *pgx.Conn, s *sideSQL, buckets []int32) (<-chan hashCount, <-chan error) {
	out := make(chan hashCount, 1024)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		q, args := s.noKeyHashQuery(), []any(nil)
		if buckets != nil {
			q, args = s.noKeyBucketHashQuery(), []any{buckets}
		}
		rows, err := conn.Query(ctx, q, args...)
		if err != nil {
			errc <- err
			return
		}
		defer rows.Close()
		for rows.Next() {
			var hc hashCount
			if err := rows.Scan(&hc.h, &hc.n); err != nil {
				errc <- err
				return
			}
			out <- hc
		}
		errc <- rows.Err()
	}()
	return out, errc
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

// hashBuckets is how many buckets of the row hash a large table without a
// key is summarised in: a difference costs one bucket's rows (1/1024 of
// the table) streamed and merged.
const hashBuckets = 1024

// differingBuckets returns the buckets whose count or hash sum differ.
func differingBuckets(ctx context.Context, p *pair, j *tableJob) ([]int32, error) {
	read := func(conn *pgx.Conn, s *sideSQL) (map[int32]hashSum, error) {
		rows, err := conn.Query(ctx, s.noKeyBucketsQuery())
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[int32]hashSum{}
		for rows.Next() {
			var b int32
			var h hashSum
			if err := rows.Scan(&b, &h.count, &h.sum); err != nil {
				return nil, err
			}
			out[b] = h
		}
		return out, rows.Err()
	}
	var sb, tb map[int32]hashSum
	if err := both(
		func() (err error) { sb, err = read(p.src, &j.ssql); return wrapSide("source", err) },
		func() (err error) { tb, err = read(p.tgt, &j.tsql); return wrapSide("target", err) },
	); err != nil {
		return nil, err
	}
	var out []int32
	for b := int32(0); b < hashBuckets; b++ {
		if sb[b] != tb[b] {
			out = append(out, b)
		}
	}
	return out, nil
}
