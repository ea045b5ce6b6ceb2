package checksum

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
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
}

// Progress receives progress from a run; calls may come from any goroutine.
type Progress interface {
	Start(tables int, estRows int64)
	Advance(rows int64)
	Finish()
}

type noProgress struct{}

func (noProgress) Start(int, int64) {}
func (noProgress) Advance(int64)    {}
func (noProgress) Finish()          {}

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

// tableJob is the work and state for one table present on both sides.
type tableJob struct {
	res      *TableResult
	src, tgt catalog.Table
	srcCols  []catalog.Column
	key      []string
	ssql     sideSQL
	tsql     sideSQL
	ranges   []keyRange
	slots    []rangeResult
	budget   atomic.Int64 // differences still allowed to be collected
	mu       sync.Mutex
	err      error
	caughtUp bool      // the target had applied past the source snapshot before its own
	collateC bool      // key ranges are bounded in COLLATE "C" (no index ranges)
	diffs    []rowDiff // all differences found in the snapshot pass
	started  time.Time // first range began
	ended    time.Time // last range ended
}

// mark records that work on the table ran from t0 until now.
func (j *tableJob) mark(t0 time.Time) {
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started.IsZero() || t0.Before(j.started) {
		j.started = t0
	}
	if now.After(j.ended) {
		j.ended = now
	}
}

// failed reports whether the table has failed; ranges of one table run
// concurrently, so the error is read under the lock.
func (j *tableJob) failed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err != nil
}

func (j *tableJob) fail(err error) {
	err = explain(err, j.src.Ident())
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = err
	}
}

type rangeResult struct {
	srcCount, tgtCount int64
	srcSum, tgtSum     string
	diffs              []rowDiff
	leaves             []keyRange // ranges compared row by row that held differences
	truncated          bool
}

// rowDiff is a differing row before it is turned into a Difference.
type rowDiff struct {
	kind DiffKind
	key  []string
	// srcH and tgtH are the row hashes on each side, when the row is there.
	srcH, tgtH *int64
	// src and tgt are per-column hashes, fetched for changed rows only.
	src, tgt []colHash
	row      []*string // whole row, for tables without a key
}

// fingerprint identifies what was seen of a row on both sides. For a
// changed row whose column hashes are known it is the differing columns
// and their values only: a hot row whose other columns keep changing on
// the source (and replicate) still shows the same difference.
func (d rowDiff) fingerprint() string {
	h := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	if d.kind == DiffChanged && d.src != nil && d.tgt != nil && len(d.src) == len(d.tgt) {
		var b strings.Builder
		fmt.Fprint(&b, d.kind, d.key)
		for i := range d.src {
			if d.src[i] != d.tgt[i] {
				fmt.Fprintf(&b, "|%d:%v:%v", i, d.src[i], d.tgt[i])
			}
		}
		return b.String()
	}
	return fmt.Sprint(d.kind, d.key, h(d.srcH), h(d.tgtH))
}

// pair is one worker: a source and a target connection in the shared snapshots.
type pair struct {
	src, tgt *pgx.Conn
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
	if err := hashRanges(ctx, jobs, pool, src, tgt, opts); err != nil {
		opts.Progress.Finish()
		return nil, err
	}
	opts.Progress.Finish()
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

// liveDrillBudget is how many differing rows per table are followed when
// the target is a live subscriber.
const liveDrillBudget = 10_000

func pairTables(res *Result, srcTables, tgtTables []catalog.Table, opts Options, live bool, defaultC [2]bool) ([]*tableJob, error) {
	sel := opts.Selection
	// Keyed by (schema, name), never a joined string: x."y.z" and "x.y".z
	// are two tables.
	byKey := map[[2]string]catalog.Table{}
	var keys [][2]string
	for _, t := range tgtTables {
		byKey[[2]string{t.Schema, t.Name}] = t
		keys = append(keys, [2]string{t.Schema, t.Name})
	}
	seen := map[[2]string]bool{}
	for _, t := range srcTables {
		keys = append(keys, [2]string{t.Schema, t.Name})
	}
	if miss := sel.Unmatched(keys); len(miss) > 0 {
		return nil, fmt.Errorf("no table matches --table %s on either side", strings.Join(miss, ", "))
	}
	// Each table gets its own result slot; jobs point into it.
	for _, t := range srcTables {
		if !sel.Match(t.Schema, t.Name) {
			continue
		}
		k := [2]string{t.Schema, t.Name}
		seen[k] = true
		if _, ok := byKey[k]; !ok {
			res.Tables = append(res.Tables, TableResult{Table: t.Display, Status: StatusMissingOnTarget})
			continue
		}
		res.Tables = append(res.Tables, TableResult{Table: t.Display})
	}
	for _, t := range tgtTables {
		k := [2]string{t.Schema, t.Name}
		if sel.Match(t.Schema, t.Name) && !seen[k] {
			res.Tables = append(res.Tables, TableResult{Table: t.Display, Status: StatusMissingOnSource})
		}
	}
	var jobs []*tableJob
	i := 0
	for _, t := range srcTables {
		if !sel.Match(t.Schema, t.Name) {
			continue
		}
		r := &res.Tables[i]
		i++
		tt, ok := byKey[[2]string{t.Schema, t.Name}]
		if !ok {
			continue
		}
		j := &tableJob{res: r, src: t, tgt: tt}
		sc, tc, notes, err := alignColumns(t, tt)
		r.Notes = append(r.Notes, notes...)
		if err != nil {
			r.Status, r.Error = StatusError, err.Error()
			continue
		}
		j.srcCols = sc
		j.key = t.RowKey()
		switch {
		case len(j.key) == 0:
			r.NoKey = true
			r.Notes = append(r.Notes, "no primary key: compared as a multiset of whole rows")
		case len(t.PrimaryKey) == 0:
			r.KeyIndex = t.UniqueIndex
			r.Notes = append(r.Notes, "no primary key: rows identified by the unique index "+t.UniqueIndex+" on NOT NULL columns")
		}
		sp, tp := plans(sc, tc)
		collate := keyCollations(j.key, t, tt, defaultC)
		j.collateC = collate != nil
		j.ssql = newSideSQL(t, sp, j.key, collate)
		j.tsql = newSideSQL(tt, tp, j.key, collate)
		if err := checkSize(append(j.ssql.exprs(), j.tsql.exprs()...)...); err != nil {
			r.Status, r.Error = StatusError, err.Error()
			continue
		}
		if j.collateC {
			r.Notes = append(r.Notes, `text key compared in COLLATE "C" order on both sides (collations may order differently): hashed as one range, split only where it differs`)
		}
		j.budget.Store(int64(opts.MaxDiffs))
		if live {
			// Rows in flight during the snapshot window differ at first and
			// are resolved by re-checks; collect enough to follow them all,
			// the report is still capped at MaxDiffs.
			j.budget.Store(int64(max(opts.MaxDiffs, liveDrillBudget)))
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
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
func hashRanges(ctx context.Context, jobs []*tableJob, pool chan *pair, src, tgt *side, opts Options) error {
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
			return nil
		})
	}
	return g.Wait()
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

func wrapSide(side string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", side, err)
}

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

// keyCollations says, per key column, whether ranges must be bounded and
// ordered in COLLATE "C": the column is collatable and orders by anything
// other than bytes on either side. Collations (and the libraries behind
// them) can order text differently on the two clusters, and a range cut
// on one side must hold the same rows on the other. nil when no column
// needs it, so integer, uuid and C-collated keys keep their index ranges.
func keyCollations(key []string, src, tgt catalog.Table, defaultC [2]bool) []bool {
	var out []bool
	any := false
	for _, k := range key {
		sc, _ := src.Column(k)
		tc, _ := tgt.Column(k)
		need := !byteOrdered(sc.Collation, defaultC[0]) || !byteOrdered(tc.Collation, defaultC[1])
		out = append(out, need)
		any = any || need
	}
	if !any {
		return nil
	}
	return out
}

// byteOrdered: a column with this collation sorts text by its bytes.
func byteOrdered(coll string, defaultC bool) bool {
	switch coll {
	case "":
		return true // not collatable
	case "C", "POSIX", "ucs_basic":
		return true
	case "default":
		return defaultC
	}
	return false
}
