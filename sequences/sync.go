package sequences

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Sync compares like Compare, then moves every unsafe target sequence to its
// sync value (the highest value used by the source sequence or the target's
// columns, plus the margin) with setval(seq, v, true), in one transaction on
// dst. It never moves a sequence backwards and never touches a safe one, so a
// second run finds nothing to do. The source is only read.
//
// Inside the transaction it reads the target sequences and column maxima
// again and recomputes every value before the first setval(): a row inserted
// meanwhile cannot leave a sequence behind, and because setval() is not
// transactional (it is never rolled back), every value is checked against
// its sequence's range first; a RangeError means nothing was changed. Each
// setval() is guarded in the same statement by the sequence's current value,
// so a concurrent nextval() that got further is never undone.
//
// Sequences missing on the target or unreadable keep their status: Sync
// cannot fix them, and the caller decides what that means.
func Sync(ctx context.Context, src, dst DB, opts Options) (*Result, error) {
	res, err := Compare(ctx, src, dst, opts)
	if err != nil {
		return nil, err
	}
	res.SyncRan = true
	var idx []int
	for i, s := range res.Sequences {
		if s.Status == Unsafe {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return res, nil
	}
	if afterCompareHook != nil {
		afterCompareHook()
	}
	work := make([]Sequence, len(idx))
	for j, i := range idx {
		work[j] = res.Sequences[i]
	}

	tx, err := dst.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT set_config('row_security', 'off', true)"); err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	all := func(uint32) bool { return true }
	if err := readValues(ctx, src, work, true, all); err != nil {
		return nil, fmt.Errorf("sync: reading source sequences: %w", err)
	}
	if err := readValues(ctx, tx, work, false, all); err != nil {
		return nil, fmt.Errorf("sync: reading target sequences: %w", err)
	}
	if err := readColumnsIn(ctx, tx, work); err != nil {
		return nil, fmt.Errorf("sync: reading target columns: %w", err)
	}
	for i := range work {
		judge(&work[i], opts.Margin)
		if work[i].Status == Unsafe && work[i].syncErr != nil {
			return nil, fmt.Errorf("sync: %w; nothing was changed", work[i].syncErr)
		}
		if work[i].Status == Error {
			return nil, fmt.Errorf("sync: %s; nothing was changed", work[i].Detail)
		}
	}

	for i := range work {
		s := &work[i]
		if s.Status != Unsafe {
			continue
		}
		v := s.SyncValue
		if !v.IsInt64() {
			return nil, fmt.Errorf("sync: value %s for %s is out of range", v, s.Display)
		}
		before, moved, err := setForward(ctx, tx, s, v.Int64())
		if err != nil {
			return nil, fmt.Errorf("sync: setting %s to %s: %w (sequences set before this one keep their new values: setval() is not transactional)", s.Display, v, err)
		}
		if moved {
			s.Before = before
		}
	}

	if err := readValues(ctx, tx, work, false, all); err != nil {
		return nil, fmt.Errorf("sync: reading target sequences back: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("sync: commit: %w", err)
	}
	for j := range work {
		s := &work[j]
		before := s.Before
		judge(s, opts.Margin)
		if before != nil {
			s.Before, s.After = before, s.Target.Value
			if s.Status == Safe {
				s.Status = Synced
			}
		}
		if s.Status == Unsafe {
			// Only a concurrent writer racing us can get here.
			return nil, fmt.Errorf("sync: %s is still unsafe after setval: %s", s.Display, s.Detail)
		}
		res.Sequences[idx[j]] = *s
	}
	return res, nil
}

// setForward runs setval(seq, v, true) only if that moves the sequence
// forward, deciding on the value read by the same statement. It returns the
// state before and whether it moved.
func setForward(ctx context.Context, tx pgx.Tx, s *Sequence, v int64) (*Value, bool, error) {
	// "Forward" for an ascending sequence: v is above the last value, or
	// equal to it while it was never handed out. Mirrored for descending.
	cond := "(last_value < $2 OR (last_value = $2 AND NOT is_called))"
	if s.Target.Increment < 0 {
		cond = "(last_value > $2 OR (last_value = $2 AND NOT is_called))"
	}
	// CASE, not AND: only CASE guarantees setval() is not evaluated when
	// the condition is false.
	q := "SELECT last_value, is_called, CASE WHEN " + cond + " THEN setval($1::oid::regclass, $2::int8, true) IS NOT NULL ELSE false END FROM " +
		pgx.Identifier{s.Schema, s.Name}.Sanitize()
	var before Value
	var moved bool
	err := tx.QueryRow(ctx, q, s.Target.OID, v).Scan(&before.LastValue, &before.IsCalled, &moved)
	if err != nil {
		return nil, false, err
	}
	return &before, moved, nil
}

// afterCompareHook lets tests write between the comparison and the sync
// transaction, to prove Sync decides on values read inside it.
var afterCompareHook func()
