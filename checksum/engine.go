package checksum

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/internal/replication"
)

// Options configure a comparison.
type Options struct {
	SourceDSN, TargetDSN   string
	SourceConn, TargetConn dbconn.Options
	Selection              catalog.Selection
	// Jobs is how many ranges are hashed at once (each on both sides).
	Jobs int
	// MaxDiffs caps the differing rows listed per table.
	MaxDiffs int
	// RangeRows is the target size of the ranges a table is cut into.
	RangeRows int64
	// LeafRows: a differing range this small is compared row by row;
	// larger ones are split first.
	LeafRows int64
	// NoKeyDiffRows: a differing table without a key larger than this is
	// first narrowed down to buckets of the row hash before rows are listed.
	NoKeyDiffRows int64
	// Rechecks is how many times differing rows are re-read after the target
	// has caught up, when the target subscribes to the source.
	Rechecks int
	// CatchUpTimeout bounds each wait for the subscriber to catch up.
	CatchUpTimeout time.Duration
	// Progress, if set, receives progress events.
	Progress Progress
	// Shard, if set, compares only its share of every table's rows.
	Shard Shard
	// State, if set, skips the tables it holds as verified and records each
	// table verified equal as soon as it is (see OpenState).
	State *State
}

// Progress receives progress from a run; calls may come from any goroutine.
type Progress interface {
	Start(tables int, estRows int64)
	Advance(rows int64)
	Finish()
}

type noProgress struct{}

func (noProgress) Start(int, int64) {}

func (noProgress) Advance(int64) {}

func (noProgress) Finish() {}

func (o *Options) defaults() {
	if o.Jobs <= 0 {
		o.Jobs = 4
	}
	if o.MaxDiffs <= 0 {
		o.MaxDiffs = 100
	}
	if o.RangeRows <= 0 {
		// Smaller ranges make a few changed rows cheap to find (each costs a
		// re-read of its range); 25k measured 1.12x the identical run for 10
		// changed rows in 5M, 50k 1.27x, at the same identical-run speed.
		o.RangeRows = 25_000
	}
	if o.LeafRows <= 0 {
		// A differing range is split (cut points every n/16 keys) until this
		// small, then compared row by row: measured cheaper than streaming
		// a whole range when a few rows differ.
		o.LeafRows = 5_000
	}
	if o.NoKeyDiffRows <= 0 {
		o.NoKeyDiffRows = 2_000_000
	}
	if o.Rechecks < 0 {
		o.Rechecks = 0
	}
	if o.CatchUpTimeout <= 0 {
		o.CatchUpTimeout = 60 * time.Second
	}
	if o.Progress == nil {
		o.Progress = noProgress{}
	}
	if o.SourceConn.Role == "" {
		o.SourceConn.Role = "source"
	}
	if o.TargetConn.Role == "" {
		o.TargetConn.Role = "target"
	}
}

// Run compares the selected tables of source and target.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	if err := opts.Selection.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	src, err := openSide(ctx, opts.SourceDSN, opts.SourceConn)
	if err != nil {
		return nil, err
	}
	defer src.close(context.Background())
	tgt, err := openSide(ctx, opts.TargetDSN, opts.TargetConn)
	if err != nil {
		return nil, err
	}
	defer tgt.close(context.Background())

	res := &Result{}
	res.Summary.SourceVersion, res.Summary.TargetVersion = src.version, tgt.version
	res.Summary.Shard = opts.Shard.String()
	if opts.State != nil {
		// A state belongs to one pair of databases, shard and selection.
		sid, err := dbconn.ReadIdentity(ctx, src.coord)
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		tid, err := dbconn.ReadIdentity(ctx, tgt.coord)
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		if err := opts.State.bind(sid.String(), tid.String(), opts.Shard, opts.Selection); err != nil {
			return nil, err
		}
	}

	lsn, err := src.begin(ctx)
	if err != nil {
		return nil, err
	}
	res.Summary.SnapshotLSN = lsn
	live, err := replication.Detect(ctx, src.coord, tgt.coord)
	if err != nil {
		return nil, err
	}
	var liveNote string
	if live != nil {
		res.Summary.Replication = live.String()
		ok, err := live.WaitFor(ctx, src.coord, lsn, opts.CatchUpTimeout)
		if err != nil {
			return nil, err
		}
		if !ok {
			liveNote = fmt.Sprintf("the target had not caught up to the source snapshot (%s) after %s; differences were re-checked", lsn, opts.CatchUpTimeout)
		}
	}
	if _, err := tgt.begin(ctx); err != nil {
		return nil, err
	}

	srcTables, err := catalog.ListTables(ctx, src.coord)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	tgtTables, err := catalog.ListTables(ctx, tgt.coord)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	jobs, err := pairTables(res, srcTables, tgtTables, opts, live != nil && opts.Rechecks > 0, [2]bool{src.defaultC, tgt.defaultC})
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		j.caughtUp = live != nil && liveNote == ""
		if liveNote != "" {
			j.res.Notes = append(j.res.Notes, liveNote)
		}
	}

	pool, closePool, err := openPool(ctx, src, tgt, min(opts.Jobs, max(1, len(jobs)*4)))
	if err != nil {
		return nil, err
	}
	defer closePool()
	// Keep every session in the shared snapshots alive for the whole run:
	// idle_in_transaction_session_timeout would end an idle coordinator
	// (or a pooled worker) of a long run.
	stopAlive := keepAlive(ctx, pool, src, tgt)
	defer stopAlive()

	if err := planRanges(ctx, jobs, pool, src, tgt, opts); err != nil {
		return nil, err
	}
	var est int64
	for _, j := range jobs {
		est += int64(max(j.src.EstRows, 0))
	}
	opts.Progress.Start(len(jobs), est)
	if err := hashRanges(ctx, jobs, pool, src, tgt, opts, lsn); err != nil {
		opts.Progress.Finish()
		return nil, err
	}
	opts.Progress.Finish()
	if opts.State != nil {
		res.Summary.FromState = opts.State.Skipped()
	}
	if err := collectDiffs(ctx, jobs, pool, src, tgt, opts); err != nil {
		return nil, err
	}
	for _, j := range jobs {
		finishTable(j, opts)
	}
	if live != nil && opts.Rechecks > 0 {
		// Tables are re-checked at once; each waits for catch-up on its own.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(opts.Jobs)
		for _, j := range jobs {
			if j.err != nil || j.res.Status != StatusMismatch {
				continue
			}
			g.Go(func() error {
				t0 := time.Now()
				err := recheck(gctx, j, src, tgt, live, opts)
				j.mark(t0)
				if err != nil {
					if gctx.Err() != nil {
						return gctx.Err()
					}
					j.res.Notes = append(j.res.Notes, "re-check failed: "+err.Error())
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	for _, j := range jobs {
		j.res.Duration = j.ended.Sub(j.started)
	}
	sort.Slice(res.Tables, func(a, b int) bool { return res.Tables[a].Table < res.Tables[b].Table })
	if live != nil {
		res.Summary.CatchUpWaitMS = live.Waited().Milliseconds()
	}
	res.summarize(time.Since(start))
	return res, nil
}

// pairTables matches tables by schema and name and applies the selection.
// explain adds what to do to errors an operator can fix.
func explain(err error, table string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	msg := pe.Message
	switch pe.Code {
	case "42501": // insufficient_privilege
		if strings.Contains(msg, "row-level security") {
			// row_security is off in pgverify's sessions: a policy must not
			// hide rows from the comparison.
			msg += "; row-level security would hide rows: ALTER ROLE <verifying role> BYPASSRLS, or verify as the table owner or a superuser"
		} else {
			msg += "; GRANT SELECT ON " + table + " TO the verifying role"
		}
	case "57014": // query_canceled: statement_timeout
		msg += "; raise --statement-timeout or lower --range-rows"
	case "55P03": // lock_not_available
		msg += "; another session holds a conflicting lock (see pg_locks), retry or raise --lock-timeout"
	}
	// Keep the side prefix ("source: ") that wrapped the driver error.
	prefix := ""
	if s := err.Error(); strings.HasSuffix(s, pe.Error()) {
		prefix = strings.TrimSuffix(s, pe.Error())
	}
	return fmt.Errorf("%s%s", prefix, msg)
}
