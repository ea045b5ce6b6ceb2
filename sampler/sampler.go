package sampler

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/pgverify/pgverify/checksum"
	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/internal/replication"
)

//go:embed sql/estimate.sql
var estimateSQL string

// Method is how rows are drawn.
type Method string

// Sampling methods. All is used by itself when the sample would cover the
// whole table: every row is then compared (a census).
const (
	Bernoulli Method = "bernoulli" // each row independently: the bound is exact
	System    Method = "system"    // whole blocks: cheaper, the bound is approximate
	All       Method = "all"       // every row
)

// Table statuses.
const (
	StatusOK      = "ok"      // no sampled row differs
	StatusDiffer  = "differ"  // some sampled rows differ
	StatusSkipped = "skipped" // not sampled, with the reason (no primary key)
	StatusError   = "error"   // could not be sampled, with the reason
)

// Kinds of difference.
const (
	KindMissing   = "missing"   // the key is not on the target
	KindChanged   = "changed"   // the row differs (Columns says where)
	KindDuplicate = "duplicate" // the key matches several target rows
	KindExtra     = "extra"     // deleted on the source since sampling, still on the target
)

// Options configure a sample run.
type Options struct {
	SourceDSN, TargetDSN   string
	SourceConn, TargetConn dbconn.Options
	Selection              catalog.Selection
	// Rows is the sample size aimed at per table (when Percent is 0).
	Rows int64
	// Percent samples this share of each table's rows instead (0 < P <= 100).
	Percent float64
	// Method is Bernoulli (default) or System.
	Method Method
	// Seed makes the sample repeatable (TABLESAMPLE ... REPEATABLE (seed)).
	Seed int64
	// Confidence of the stated bound (default 0.95).
	Confidence float64
	// Jobs is how many tables are sampled at once (a connection per side each).
	Jobs int
	// MaxDiffs caps the differing rows listed per table (all are counted).
	MaxDiffs int
	// Rechecks is how many times differing rows are re-read after the
	// subscriber caught up (live replication only).
	Rechecks int
	// CatchUpTimeout bounds each wait for the subscriber.
	CatchUpTimeout time.Duration
	// BatchSize is how many keys one target lookup carries.
	BatchSize int
}

// DefaultRows is the sample size when neither Rows nor Percent is given.
const DefaultRows = 10_000

// MaxSeed is the largest seed: REPEATABLE takes a float8, exact to 2^53.
const MaxSeed = 1<<53 - 1

func (o *Options) defaults() error {
	if o.Method == "" {
		o.Method = Bernoulli
	}
	if o.Method != Bernoulli && o.Method != System {
		return fmt.Errorf("unknown sampling method %q: use bernoulli or system", o.Method)
	}
	if o.Percent < 0 || o.Percent > 100 || math.IsNaN(o.Percent) {
		return fmt.Errorf("percent %g is out of range: use 0 < P <= 100", o.Percent)
	}
	if o.Percent == 0 && o.Rows <= 0 {
		o.Rows = DefaultRows
	}
	if o.Seed < 0 || o.Seed > MaxSeed {
		return fmt.Errorf("seed %d is out of range 0..%d", o.Seed, int64(MaxSeed))
	}
	if o.Confidence <= 0 || o.Confidence >= 1 {
		o.Confidence = 0.95
	}
	if o.Jobs <= 0 {
		o.Jobs = 4
	}
	if o.MaxDiffs <= 0 {
		o.MaxDiffs = 100
	}
	if o.Rechecks < 0 {
		o.Rechecks = 0
	}
	if o.CatchUpTimeout <= 0 {
		o.CatchUpTimeout = 60 * time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.SourceConn.Role == "" {
		o.SourceConn.Role = "source"
	}
	if o.TargetConn.Role == "" {
		o.TargetConn.Role = "target"
	}
	return nil
}

// Difference is one sampled row that differs.
type Difference struct {
	// Key holds the key values as the source prints them, in KeyColumns order.
	Key     []string `json:"key"`
	Kind    string   `json:"kind"`
	Columns []string `json:"columns,omitempty"`
}

// TableResult is the sample of one table.
type TableResult struct {
	Table  string `json:"table"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Method is how this table was sampled (all for a census).
	Method Method `json:"method,omitempty"`
	// Percent is the sampling percentage used.
	Percent float64 `json:"percent,omitempty"`
	// EstimatedRows is the planner's estimate (or an exact count when the
	// statistics were missing or far off).
	EstimatedRows int64    `json:"estimated_rows"`
	KeyColumns    []string `json:"key_columns,omitempty"`
	Sampled       int64    `json:"sampled"`
	Differing     int64    `json:"differing"`
	Missing       int64    `json:"missing"`
	Changed       int64    `json:"changed"`
	// UpperBound is the fraction of the table's rows that differ at most,
	// with the run's confidence (the observed fraction for a census); null
	// when nothing was sampled.
	UpperBound *float64 `json:"upper_bound"`
	// BoundExact: a census, the fraction is observed, not estimated.
	BoundExact bool `json:"bound_exact,omitempty"`
	// BoundApproximate: SYSTEM sampling, rows are not drawn independently.
	BoundApproximate bool         `json:"bound_approximate,omitempty"`
	Differences      []Difference `json:"differences,omitempty"`
	Notes            []string     `json:"notes,omitempty"`
	ElapsedMS        int64        `json:"elapsed_ms"`
}

// Summary is the run over all tables.
type Summary struct {
	Tables    int   `json:"tables"`
	OK        int   `json:"ok"`
	Differ    int   `json:"differ"`
	Skipped   int   `json:"skipped"`
	Errors    int   `json:"errors"`
	Sampled   int64 `json:"sampled"`
	Differing int64 `json:"differing"`
	// UpperBound holds for every sampled table at once with the run's
	// confidence (Bonferroni: each table's bound at confidence 1-α/T);
	// null when nothing was sampled.
	UpperBound       *float64 `json:"upper_bound"`
	BoundApproximate bool     `json:"bound_approximate,omitempty"`
}

// Replication describes the live subscription differing rows were
// re-checked against.
type Replication struct {
	Subscriptions []string `json:"subscriptions"`
	Slots         []string `json:"slots"`
	// Rounds of re-reading done; CaughtUp is false when a wait timed out.
	Rounds   int  `json:"rounds"`
	CaughtUp bool `json:"caught_up"`
}

// Result is a sample run.
type Result struct {
	Method      Method        `json:"method"`
	Seed        int64         `json:"seed"`
	Rows        int64         `json:"rows,omitempty"`
	Percent     float64       `json:"percent,omitempty"`
	Confidence  float64       `json:"confidence"`
	Tables      []TableResult `json:"tables"`
	Summary     Summary       `json:"summary"`
	Replication *Replication  `json:"replication,omitempty"`
	ElapsedMS   int64         `json:"elapsed_ms"`
}

// HasDifferences reports whether any sampled row differs.
func (r *Result) HasDifferences() bool { return r.Summary.Differing > 0 }

// Incomplete reports whether some table could not be sampled.
func (r *Result) Incomplete() bool { return r.Summary.Errors > 0 }

// sampledRow is a source row drawn: its key (text) and row hash.
type sampledRow struct {
	key  []string
	hash int64
}

// job is one table present on both sides.
type job struct {
	res            *TableResult
	src, tgt       catalog.Table
	srcSQL, tgtSQL tableSQL
	sample         []sampledRow
	diffs          map[int]string   // index into sample → kind
	columns        map[int][]string // index into sample → differing columns
	exactCount     bool
}

// Run samples the selected tables of the source and compares them with the
// target.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	// A row-level security policy must not hide rows from the sample: with
	// row_security off, a role that cannot bypass it gets an error instead.
	for _, o := range []*dbconn.Options{&opts.SourceConn, &opts.TargetConn} {
		p := map[string]string{"row_security": "off"}
		for k, v := range o.Params {
			p[k] = v
		}
		o.Params = p
	}
	if err := opts.Selection.Validate(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	res := &Result{Method: opts.Method, Seed: opts.Seed, Rows: opts.Rows, Percent: opts.Percent,
		Confidence: opts.Confidence, Tables: []TableResult{}}
	if opts.Percent > 0 {
		res.Rows = 0
	}
	src, err := dbconn.Connect(ctx, opts.SourceDSN, opts.SourceConn)
	if err != nil {
		return nil, err
	}
	defer src.Close(context.Background())
	tgt, err := dbconn.Connect(ctx, opts.TargetDSN, opts.TargetConn)
	if err != nil {
		return nil, err
	}
	defer tgt.Close(context.Background())

	results, jobs, err := planJobs(ctx, src, tgt, opts)
	if err != nil {
		return nil, err
	}
	live, err := replication.Detect(ctx, src, tgt)
	if err != nil {
		return nil, err
	}
	if len(jobs) > 0 {
		if err := sampleAll(ctx, jobs, opts); err != nil {
			return nil, err
		}
		if err := settle(ctx, jobs, src, tgt, live, res, opts); err != nil {
			return nil, err
		}
	}
	for _, j := range jobs {
		finish(j, opts)
	}
	for _, r := range results {
		res.Tables = append(res.Tables, *r)
	}
	summarize(res)
	res.ElapsedMS = time.Since(t0).Milliseconds()
	return res, nil
}

// planJobs pairs the selected source tables with the target's by name. It
// returns every selected table's result, in order, and the jobs for those
// that can be sampled (the others' results are final already).
func planJobs(ctx context.Context, src, tgt *pgx.Conn, opts Options) ([]*TableResult, []*job, error) {
	srcTabs, err := catalog.ListTables(ctx, src)
	if err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	tgtTabs, err := catalog.ListTables(ctx, tgt)
	if err != nil {
		return nil, nil, fmt.Errorf("target: %w", err)
	}
	var keys [][2]string
	for _, t := range srcTabs {
		keys = append(keys, [2]string{t.Schema, t.Name})
	}
	if un := opts.Selection.Unmatched(keys); len(un) > 0 {
		return nil, nil, fmt.Errorf("--table %s matches no source table", strings.Join(un, ", "))
	}
	// By (schema, name), never a joined string: x."y.z" and "x.y".z differ.
	byName := map[[2]string]catalog.Table{}
	for _, t := range tgtTabs {
		byName[[2]string{t.Schema, t.Name}] = t
	}
	var results []*TableResult
	var jobs []*job
	for _, s := range srcTabs {
		if !opts.Selection.Match(s.Schema, s.Name) {
			continue
		}
		tr := &TableResult{Table: s.Display, EstimatedRows: int64(math.Max(s.EstRows, 0))}
		results = append(results, tr)
		t, ok := byName[[2]string{s.Schema, s.Name}]
		switch {
		case len(s.RowKey()) == 0:
			tr.Status, tr.Reason = StatusSkipped, "no primary key: sampling needs a key to look rows up on the target (pgverify tables compares such tables)"
		case !ok:
			tr.Status, tr.Reason = StatusError, "table missing on the target: run pgverify schema diff"
		default:
			sc, tc, err := alignColumns(s, t)
			if err != nil {
				tr.Status, tr.Reason = StatusError, err.Error()
				break
			}
			hs, ht, err := checksum.PairHashSQL(sc, tc, "t")
			if err != nil {
				tr.Status, tr.Reason = StatusError, err.Error()
				break
			}
			tr.KeyColumns = append([]string{}, s.RowKey()...)
			jobs = append(jobs, &job{res: tr, src: s, tgt: t, diffs: map[int]string{},
				srcSQL: newTableSQL(s, sc, s.RowKey(), hs), tgtSQL: newTableSQL(t, tc, s.RowKey(), ht)})
		}
	}
	return results, jobs, nil
}

// alignColumns matches the target's columns to the source's by name, in the
// source's order; a column on one side only makes the table unverifiable.
func alignColumns(src, tgt catalog.Table) (sc, tc []catalog.Column, err error) {
	for _, c := range src.Columns {
		t, ok := tgt.Column(c.Name)
		if !ok {
			return nil, nil, errors.New("columns differ: run pgverify schema diff (" + pgx.Identifier{c.Name}.Sanitize() + " is only on the source)")
		}
		sc, tc = append(sc, c), append(tc, t)
	}
	for _, c := range tgt.Columns {
		if _, ok := src.Column(c.Name); !ok {
			return nil, nil, errors.New("columns differ: run pgverify schema diff (" + pgx.Identifier{c.Name}.Sanitize() + " is only on the target)")
		}
	}
	return sc, tc, nil
}

// pair is one worker's connections.
type pair struct{ src, tgt *pgx.Conn }

func sampleAll(ctx context.Context, jobs []*job, opts Options) error {
	n := min(opts.Jobs, len(jobs))
	pool := make(chan *pair, n)
	var mu sync.Mutex
	var all []*pair
	defer func() {
		for _, p := range all {
			if p.src != nil {
				p.src.Close(context.Background())
			}
			if p.tgt != nil {
				p.tgt.Close(context.Background())
			}
		}
	}()
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < n; i++ {
		g.Go(func() error {
			p := &pair{}
			mu.Lock()
			all = append(all, p)
			mu.Unlock()
			var err error
			if p.src, err = dbconn.Connect(gctx, opts.SourceDSN, opts.SourceConn); err != nil {
				return err
			}
			if p.tgt, err = dbconn.Connect(gctx, opts.TargetDSN, opts.TargetConn); err != nil {
				return err
			}
			pool <- p
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(n)
	for _, j := range jobs {
		g.Go(func() error {
			p := <-pool
			defer func() { pool <- p }()
			t0 := time.Now()
			err := sampleTable(gctx, p, j, opts)
			j.res.ElapsedMS = time.Since(t0).Milliseconds()
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				j.res.Status, j.res.Reason = StatusError, oneLine(err.Error())
				j.sample, j.diffs = nil, map[int]string{}
			}
			return nil
		})
	}
	return g.Wait()
}

// sampleTable draws the sample on the source and compares it with the
// target's rows of the same keys.
func sampleTable(ctx context.Context, p *pair, j *job, opts Options) error {
	if err := drawSample(ctx, p.src, j, opts); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	got, err := lookup(ctx, p.tgt, &j.tgtSQL, j.sample, opts.BatchSize, false)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	for i, r := range j.sample {
		if kind := compare(r.hash, true, got[i]); kind != "" {
			j.diffs[i] = kind
		}
	}
	return nil
}

// drawSample chooses the sampling percentage and draws the rows. With a
// row target, the percentage follows the planner's estimate; when that
// proves far off (or is missing), the rows are counted and the sample drawn
// again, never truncated (a truncated sample would favour the first blocks).
func drawSample(ctx context.Context, conn *pgx.Conn, j *job, opts Options) error {
	est, unknown, err := estimate(ctx, conn, j.src.OID)
	if err != nil {
		return err
	}
	if unknown {
		if est, err = count(ctx, conn, &j.srcSQL); err != nil {
			return err
		}
		j.exactCount = true
		if est > 0 {
			j.res.Notes = append(j.res.Notes, "no planner statistics (never analyzed); rows counted exactly")
		}
	}
	for attempt := 0; ; attempt++ {
		j.res.EstimatedRows = est
		method, pct := opts.Method, opts.Percent
		if pct == 0 {
			pct = 100
			if est > opts.Rows {
				pct = 100 * float64(opts.Rows) / float64(est)
			}
		}
		if pct >= 100 {
			method, pct = All, 100
		}
		// A guard against statistics far below the truth: more than four
		// times the rows wanted means the estimate was wrong.
		var limit *int64
		if opts.Percent == 0 && !j.exactCount {
			l := 4*opts.Rows + 1
			limit = &l
		}
		rows, err := sampleRows(ctx, conn, &j.srcSQL, method, pct, opts.Seed, limit)
		if err != nil {
			return err
		}
		n := int64(len(rows))
		off := limit != nil && (n >= *limit || (method != All && n < opts.Rows/2))
		if off && attempt == 0 {
			if est, err = count(ctx, conn, &j.srcSQL); err != nil {
				return err
			}
			j.exactCount = true
			j.res.Notes = append(j.res.Notes, "planner statistics were off; rows counted exactly")
			continue
		}
		j.sample = rows
		j.res.Method, j.res.Percent = method, pct
		return nil
	}
}

func estimate(ctx context.Context, conn *pgx.Conn, oid uint32) (int64, bool, error) {
	var est float64
	var unknown bool
	if err := conn.QueryRow(ctx, estimateSQL, oid).Scan(&est, &unknown); err != nil {
		return 0, false, fmt.Errorf("estimating rows: %w", err)
	}
	return int64(math.Round(est)), unknown, nil
}

func count(ctx context.Context, conn *pgx.Conn, s *tableSQL) (int64, error) {
	var n int64
	if err := conn.QueryRow(ctx, s.countQuery()).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting rows: %w", err)
	}
	return n, nil
}

func sampleRows(ctx context.Context, conn *pgx.Conn, s *tableSQL, m Method, pct float64, seed int64, limit *int64) ([]sampledRow, error) {
	q, args := s.sampleQuery(m, pct, seed, limit)
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sampling: %w", err)
	}
	defer rows.Close()
	var out []sampledRow
	nk := len(s.key)
	for rows.Next() {
		key := make([]string, nk)
		var h int64
		dst := make([]any, 0, nk+1)
		for i := range key {
			dst = append(dst, &key[i])
		}
		dst = append(dst, &h)
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("sampling: %w", err)
		}
		out = append(out, sampledRow{key: key, hash: h})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sampling: %w", err)
	}
	return out, nil
}

// found is what a lookup found for one key.
type found struct {
	n       int      // rows with that key
	hash    int64    // row hash of the first
	columns []*int64 // column hashes (with withColumns)
}

// lookup reads the rows of the given keys, in batches, as a map from the
// key's index in keys to what was found (absent: no row).
func lookup(ctx context.Context, conn *pgx.Conn, s *tableSQL, keys []sampledRow, batch int, withColumns bool) (map[int]*found, error) {
	out := map[int]*found{}
	q := s.lookupQuery(withColumns)
	for start := 0; start < len(keys); start += batch {
		end := min(start+batch, len(keys))
		args := make([]any, len(s.key))
		for c := range s.key {
			vals := make([]string, end-start)
			for i := start; i < end; i++ {
				vals[i-start] = keys[i].key[c]
			}
			args[c] = vals
		}
		rows, err := conn.Query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("looking up keys: %w", err)
		}
		for rows.Next() {
			var ord, h int64
			dst := []any{&ord, &h}
			var cols []*int64
			if withColumns {
				cols = make([]*int64, len(s.cols))
				for i := range cols {
					dst = append(dst, &cols[i])
				}
			}
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("looking up keys: %w", err)
			}
			i := start + int(ord) - 1
			if f, ok := out[i]; ok {
				f.n++
				continue
			}
			out[i] = &found{n: 1, hash: h, columns: cols}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("looking up keys: %w", err)
		}
	}
	return out, nil
}

// compare classifies a source row (present, with hash) against what the
// target has for its key; "" means equal.
func compare(srcHash int64, srcPresent bool, t *found) string {
	switch {
	case !srcPresent && t == nil:
		return "" // deleted on both sides since the sample
	case !srcPresent:
		return KindExtra
	case t == nil:
		return KindMissing
	case t.n > 1:
		return KindDuplicate
	case t.hash != srcHash:
		return KindChanged
	}
	return ""
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
