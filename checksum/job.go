package checksum

// The state of one table being compared, and how tables are paired.

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgverify/pgverify/internal/catalog"
)

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
	caughtUp bool         // the target had applied past the source snapshot before its own
	collateC bool         // key ranges are bounded in COLLATE "C" (no index ranges)
	diffs    []rowDiff    // all differences found in the snapshot pass
	started  time.Time    // first range began
	ended    time.Time    // last range ended
	pending  atomic.Int64 // ranges not hashed yet
	fp       string       // fingerprint, for --state
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
		j.ssql = newSideSQL(t, sp, j.key, collate, opts.Shard)
		j.tsql = newSideSQL(tt, tp, j.key, collate, opts.Shard)
		if err := checkSize(append(j.ssql.exprs(), j.tsql.exprs()...)...); err != nil {
			r.Status, r.Error = StatusError, err.Error()
			continue
		}
		if j.collateC {
			r.Notes = append(r.Notes, `text key compared in COLLATE "C" order on both sides (collations may order differently): hashed as one range, split only where it differs`)
		}
		if opts.State != nil {
			j.fp = fingerprint(sc, tc, j.key)
			done, ok, err := opts.State.lookup(t.Schema, t.Name, j.fp)
			if err != nil {
				return nil, err
			}
			if ok {
				r.Status, r.RowsSource, r.RowsTarget = StatusMatch, done.RowsSource, done.RowsTarget
				r.Notes = append(r.Notes, fmt.Sprintf("verified equal by an earlier run (snapshot %s, %s), taken from --state", done.SnapshotLSN, done.VerifiedAt.UTC().Format(time.RFC3339)))
				continue
			}
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
