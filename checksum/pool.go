package checksum

// Workers: one connection per side in the shared snapshots, one unit of
// work at a time.

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// pair is one worker: a source and a target connection in the shared snapshots.
type pair struct {
	src, tgt *pgx.Conn
}

func openPool(ctx context.Context, src, tgt *side, n int) (chan *pair, func(), error) {
	pool := make(chan *pair, n)
	var all []*pair
	closeAll := func() {
		for _, p := range all {
			if p.src != nil {
				p.src.Close(context.Background())
			}
			if p.tgt != nil {
				p.tgt.Close(context.Background())
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	all = make([]*pair, n)
	for i := range all {
		all[i] = &pair{}
		p := all[i]
		g.Go(func() (err error) {
			if p.src, err = src.worker(gctx); err != nil {
				return err
			}
			p.tgt, err = tgt.worker(gctx)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		closeAll()
		return nil, nil, err
	}
	for _, p := range all {
		pool <- p
	}
	return pool, closeAll, nil
}

// withPair runs f with a worker inside a savepoint on each side. Rolling
// back to it afterwards releases the locks f's queries took (ACCESS SHARE
// on the table, its indexes and partitions) while the transaction, and so
// the shared snapshot, stays: a worker holds the locks of one unit of work
// at a time, never of every table it has read (thousands of tables would
// exhaust the server's shared lock table, for other sessions too). It also
// recovers the worker after a failed query.
func withPair(ctx context.Context, pool chan *pair, src, tgt *side, f func(p *pair) error) error {
	var p *pair
	select {
	case p = <-pool:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := both(
		func() error { return wrapSide("source", savepoint(ctx, p.src)) },
		func() error { return wrapSide("target", savepoint(ctx, p.tgt)) },
	); err != nil {
		pool <- p
		return firstCause(err, src, tgt)
	}
	err := f(p)
	if ctx.Err() == nil {
		if rerr := both(
			func() error { return wrapSide("source", src.release(ctx, p.src)) },
			func() error { return wrapSide("target", tgt.release(ctx, p.tgt)) },
		); rerr != nil && err == nil {
			err = rerr
		}
	}
	pool <- p
	if err != nil {
		return firstCause(err, src, tgt)
	}
	return nil
}

// firstCause names the session that held a snapshot when it was lost: the
// errors after it ("current transaction is aborted", "invalid snapshot")
// only hide it.
func firstCause(err error, src, tgt *side) error {
	for _, s := range []*side{src, tgt} {
		if lost := s.lostErr(); lost != nil {
			return fmt.Errorf("%s: the session holding the snapshot ended (%v); %w", s.name, lost, err)
		}
	}
	return err
}

// both runs one function per side at once.
func both(fs, ft func() error) error {
	var g errgroup.Group
	g.Go(fs)
	g.Go(ft)
	return g.Wait()
}

func wrapSide(side string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", side, err)
}
