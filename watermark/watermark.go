package watermark

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/replication"
)

var (
	//go:embed sql/tables.sql
	tablesSQL string
	//go:embed sql/column.sql
	columnSQL string
	//go:embed sql/stats.sql
	statsSQL string
)

// Defaults.
const (
	DefaultTimeout = 60 * time.Second
	DefaultPoll    = 200 * time.Millisecond
	maxPoll        = time.Second
	// settleRounds is how many identical, unequal count pairs in a row make
	// a mismatch when the target's replication progress cannot be seen;
	// with a tracked slot two suffice (the target had applied everything
	// the source had committed when each count was taken).
	settleRounds        = 3
	settleRoundsTracked = 2
	settleInterval      = 500 * time.Millisecond
)

// Check names the tables (a schema.name or a glob, as --table) and the
// watermark column.
type Check struct {
	Table  string
	Column string
}

// Options configure Run.
type Options struct {
	Checks []Check
	// Exclude drops tables matched by these globs (as --exclude).
	Exclude []string
	// Timeout bounds the wait for the target, across all tables.
	Timeout time.Duration
	// Poll is the first interval between polls of the target (it backs off
	// to one second); zero means DefaultPoll.
	Poll time.Duration
	// Progress, when set, is called while waiting. It must not block.
	Progress func(Progress)
}

// Phase is what Run is doing for a table.
type Phase string

// Phases reported through Progress.
const (
	PhaseWaiting  Phase = "waiting"  // for the target to reach the watermark
	PhaseSettling Phase = "settling" // counts differ; re-counting both sides
	PhaseDone     Phase = "done"
)

// Progress is one progress event.
type Progress struct {
	Index, Total int // 1-based table number
	Table        string
	Column       string
	Watermark    string
	Phase        Phase
	Waited       time.Duration
	Timeout      time.Duration // time left is Timeout - Waited
	Status       Status        // set when Phase is PhaseDone
}

// Status is the verdict for one table.
type Status string

// Statuses.
const (
	Match    Status = "match"
	Mismatch Status = "mismatch"
	Timeout  Status = "timeout"
	Error    Status = "error"
)

// TableResult is the outcome for one table and column.
type TableResult struct {
	Schema string
	Name   string
	Table  string // schema.name, quoted where Postgres needs it
	Column string
	// Type is the column's type on the source (TargetType on the target).
	Type       string
	TargetType string
	// Watermark is max(column) on the source as Postgres prints it (UTC,
	// ISO dates); nil when the source has no rows.
	Watermark *string
	// SourceRows and TargetRows count rows with column <= watermark;
	// TargetRows is nil when the target was never counted.
	SourceRows int64
	TargetRows *int64
	// InitialSourceRows is the count in the first snapshot; it differs from
	// SourceRows when rows at or below the watermark were committed on the
	// source after it was read.
	InitialSourceRows int64
	// Waited is the time from the start of this table's wait to the verdict.
	Waited time.Duration
	Status Status
	// Detail explains a mismatch, timeout or error.
	Detail string
	// Warnings do not change the status but limit what it proves.
	Warnings []string
	// Notes are information about how the verdict was reached.
	Notes []string
	// Confirmation is how the target's catch-up was established: "slot"
	// (a replication slot confirmed the source position) or "stable
	// counts" (no slot visible: counts stopped changing).
	Confirmation string

	oid, dstOID uint32
	collatable  bool
	isTimestamp bool
}

// Result is the outcome of Run.
type Result struct {
	Tables []TableResult
	// SourceLSN is the source's WAL position at the snapshot.
	SourceLSN string
	// Slots are the replication slots whose progress was tracked.
	Slots   []string
	Timeout time.Duration
}

// Summary counts tables by status.
type Summary struct{ Total, Match, Mismatch, Timeout, Error int }

// Summary counts the statuses.
func (r *Result) Summary() Summary {
	s := Summary{Total: len(r.Tables)}
	for _, t := range r.Tables {
		switch t.Status {
		case Match:
			s.Match++
		case Mismatch:
			s.Mismatch++
		case Timeout:
			s.Timeout++
		case Error:
			s.Error++
		}
	}
	return s
}

// InputError is bad input: a table or column that does not exist or cannot
// serve as a watermark. Nothing was verified.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, a ...any) error { return &InputError{fmt.Sprintf(format, a...)} }

// Run verifies every selected table. src and dst should be read-only
// sessions; Run switches row_security off on both so a policy cannot hide
// rows from a count (the query fails instead). An error means nothing could
// be verified (bad input, lost connection); per-table trouble is a status.
func Run(ctx context.Context, src, dst *pgx.Conn, opts Options) (*Result, error) {
	if len(opts.Checks) == 0 {
		return nil, inputErrorf("no table to check: give --table and --column")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	for _, c := range opts.Checks {
		if c.Table == "" || c.Column == "" {
			return nil, inputErrorf("every --table needs a --column")
		}
	}
	sel := catalog.Selection{Exclude: opts.Exclude}
	for _, c := range opts.Checks {
		sel.Include = append(sel.Include, c.Table)
	}
	if err := sel.Validate(); err != nil {
		return nil, &InputError{err.Error()}
	}
	for _, conn := range []*pgx.Conn{src, dst} {
		if _, err := conn.Exec(ctx, "SELECT set_config('row_security', 'off', false)"); err != nil {
			return nil, err
		}
	}

	tables, err := resolve(ctx, src, dst, opts)
	if err != nil {
		return nil, err
	}
	res := &Result{Tables: tables, Timeout: opts.Timeout}
	for i := range res.Tables {
		if err := appendOnlyWarnings(ctx, src, &res.Tables[i]); err != nil {
			return nil, err
		}
	}
	res.Slots = trackedSlots(ctx, src, dst)

	if err := snapshot(ctx, src, res); err != nil {
		return nil, err
	}
	if afterSnapshotHook != nil {
		afterSnapshotHook()
	}

	v := &verifier{src: src, dst: dst, opts: opts, slots: res.Slots, snapLSN: res.SourceLSN, deadline: time.Now().Add(opts.Timeout)}
	for i := range res.Tables {
		t := &res.Tables[i]
		if err := v.verify(ctx, t, i+1, len(res.Tables)); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			t.Status, t.Detail = Error, oneLine(err.Error())
		}
		v.progress(t, i+1, len(res.Tables), PhaseDone, t.Waited)
		if t.InitialSourceRows != t.SourceRows {
			t.Notes = append(t.Notes, fmt.Sprintf(
				"%d rows at or below the watermark were committed on the source after it was read (transactions in flight then, normal under concurrent inserts, or rows inserted with a smaller %s): the source was counted again",
				t.SourceRows-t.InitialSourceRows, t.Column))
		}
	}
	return res, nil
}

type tableRow struct {
	oid       uint32
	schema    string
	name      string
	display   string
	partition bool
}

func listTables(ctx context.Context, q *pgx.Conn, role string) ([]tableRow, error) {
	rows, err := q.Query(ctx, tablesSQL)
	if err != nil {
		return nil, fmt.Errorf("listing %s tables: %w", role, err)
	}
	defer rows.Close()
	var out []tableRow
	for rows.Next() {
		var r tableRow
		var oid int64
		if err := rows.Scan(&oid, &r.schema, &r.name, &r.display, &r.partition); err != nil {
			return nil, fmt.Errorf("listing %s tables: %w", role, err)
		}
		r.oid = uint32(oid)
		out = append(out, r)
	}
	return out, rows.Err()
}

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// resolve turns the checks into tables present on both sides with a usable
// column, or fails with an InputError naming what is wrong.
func resolve(ctx context.Context, src, dst *pgx.Conn, opts Options) ([]TableResult, error) {
	srcTables, err := listTables(ctx, src, "source")
	if err != nil {
		return nil, err
	}
	dstTables, err := listTables(ctx, dst, "target")
	if err != nil {
		return nil, err
	}
	dstByKey := map[string]tableRow{}
	for _, t := range dstTables {
		dstByKey[catalog.Key(t.schema, t.name)] = t
	}
	excl := catalog.Selection{Exclude: opts.Exclude}
	var out []TableResult
	seen := map[string]bool{}
	for _, c := range opts.Checks {
		one := catalog.Selection{Include: []string{c.Table}}
		n := 0
		for _, t := range srcTables {
			if !one.Match(t.schema, t.name) || (t.partition && isGlob(c.Table)) {
				continue
			}
			n++
			if !excl.Match(t.schema, t.name) {
				continue
			}
			k := catalog.Key(t.schema, t.name) + "\x00" + c.Column
			if seen[k] {
				continue
			}
			seen[k] = true
			d, ok := dstByKey[catalog.Key(t.schema, t.name)]
			if !ok {
				return nil, inputErrorf("table %s not found on target", t.display)
			}
			tr := TableResult{Schema: t.schema, Name: t.name, Table: t.display, Column: c.Column, oid: t.oid, dstOID: d.oid}
			if err := checkColumn(ctx, src, &tr, "source"); err != nil {
				return nil, err
			}
			if err := checkColumn(ctx, dst, &tr, "target"); err != nil {
				return nil, err
			}
			if tr.Type != tr.TargetType {
				tr.Warnings = append(tr.Warnings, fmt.Sprintf("column %s is %s on the source but %s on the target: the watermark is compared as text cast to each side's type", c.Column, tr.Type, tr.TargetType))
			}
			out = append(out, tr)
		}
		if n == 0 {
			return nil, inputErrorf("table %s not found on source", c.Table)
		}
	}
	if len(out) == 0 {
		return nil, inputErrorf("--exclude leaves no table to check")
	}
	return out, nil
}

func checkColumn(ctx context.Context, q *pgx.Conn, t *TableResult, role string) error {
	oid := t.oid
	if role == "target" {
		oid = t.dstOID
	}
	var typ, baseType, category string
	var notNull, collatable, orderable bool
	err := q.QueryRow(ctx, columnSQL, oid, t.Column).Scan(&typ, &notNull, &collatable, &baseType, &category, &orderable)
	if errors.Is(err, pgx.ErrNoRows) {
		return inputErrorf("column %s not found in table %s on %s", t.Column, t.Table, role)
	}
	if err != nil {
		return fmt.Errorf("reading column %s of %s on %s: %w", t.Column, t.Table, role, err)
	}
	if !orderable {
		return inputErrorf("column %s of %s is of type %s, which has no ordering: use a column whose values grow with each insert (bigint id, timestamp)", t.Column, t.Table, typ)
	}
	if role == "source" {
		t.Type = typ
		t.collatable = collatable
		t.isTimestamp = category == "D"
		if !notNull {
			t.Warnings = append(t.Warnings, fmt.Sprintf("column %s allows NULL: rows where it is NULL are not counted on either side", t.Column))
		}
	} else {
		t.TargetType = typ
		t.collatable = t.collatable || collatable
	}
	return nil
}

func appendOnlyWarnings(ctx context.Context, src *pgx.Conn, t *TableResult) error {
	var upd, del int64
	if err := src.QueryRow(ctx, statsSQL, t.oid).Scan(&upd, &del); err != nil {
		return fmt.Errorf("reading statistics of %s on source: %w", t.Table, err)
	}
	if upd == 0 && del == 0 {
		return nil
	}
	w := fmt.Sprintf("not append-only: the source's pg_stat_user_tables counts %d updates and %d deletes on %s since statistics were reset; a row deleted (or moved by an update of %s) on the source is missing on the target too and not flagged, and changes while this runs can make the counts differ",
		upd, del, t.Table, t.Column)
	if t.isTimestamp {
		w += fmt.Sprintf("; %s is a timestamp, so rows inserted later with an older time also land below the watermark", t.Column)
	}
	t.Warnings = append(t.Warnings, w)
	return nil
}

// trackedSlots finds the source's active logical slots that feed the
// target's enabled subscriptions. Any failure (privileges, a target fed
// through something else) just means no tracking.
func trackedSlots(ctx context.Context, src, dst *pgx.Conn) []string {
	link, err := replication.Detect(ctx, src, dst)
	if err != nil || link == nil {
		return nil
	}
	return link.ActiveSlots()
}

// col is the watermark column for SQL; text columns compare under the "C"
// collation so both sides order alike whatever their collations.
func (t *TableResult) col() string {
	c := pgx.Identifier{t.Column}.Sanitize()
	if t.collatable {
		c += ` COLLATE "C"`
	}
	return c
}

func (t *TableResult) ident() string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

func (t *TableResult) countSQL() string {
	return fmt.Sprintf("SELECT count(*) FROM %s WHERE %s <= $1", t.ident(), t.col())
}

// snapshot reads every watermark and source count in one repeatable-read,
// read-only transaction, so all are from one instant and concurrent inserts
// cannot skew them, and records the WAL position after it.
func snapshot(ctx context.Context, src *pgx.Conn, res *Result) error {
	tx, err := src.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("source snapshot: %w", err)
	}
	defer tx.Rollback(ctx)
	for i := range res.Tables {
		t := &res.Tables[i]
		q := fmt.Sprintf("SELECT s.m::text, (SELECT count(*) FROM %s WHERE %s <= s.m) FROM (SELECT max(%s) AS m FROM %s) s",
			t.ident(), t.col(), t.col(), t.ident())
		if err := tx.QueryRow(ctx, q).Scan(&t.Watermark, &t.SourceRows); err != nil {
			return fmt.Errorf("reading the watermark of %s on source: %w", t.Table, err)
		}
		t.InitialSourceRows = t.SourceRows
	}
	if res.SourceLSN, err = replication.CurrentLSN(ctx, tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// recount counts one table on the source again in a fresh snapshot and
// returns the WAL position after it.
func recount(ctx context.Context, src *pgx.Conn, t *TableResult) (int64, string, error) {
	tx, err := src.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, "", err
	}
	defer tx.Rollback(ctx)
	var n int64
	if err := tx.QueryRow(ctx, t.countSQL(), *t.Watermark).Scan(&n); err != nil {
		return 0, "", fmt.Errorf("counting %s on source: %w", t.Table, err)
	}
	lsn, err := replication.CurrentLSN(ctx, tx)
	if err != nil {
		return 0, "", err
	}
	return n, lsn, tx.Commit(ctx)
}

type verifier struct {
	src, dst *pgx.Conn
	opts     Options
	slots    []string
	snapLSN  string
	deadline time.Time
}

func (v *verifier) progress(t *TableResult, i, n int, ph Phase, waited time.Duration) {
	if v.opts.Progress == nil {
		return
	}
	w := ""
	if t.Watermark != nil {
		w = *t.Watermark
	}
	v.opts.Progress(Progress{Index: i, Total: n, Table: t.Table, Column: t.Column, Watermark: w,
		Phase: ph, Waited: waited, Timeout: time.Until(v.deadline) + waited, Status: t.Status})
}

// errDeadline is the --timeout passing while waiting.
var errDeadline = errors.New("timeout")

// sleep waits d, or until the deadline or ctx ends. Queries never get the
// deadline as a context: pgx closes a connection whose query is cancelled,
// and the next table still needs it.
func (v *verifier) sleep(ctx context.Context, d time.Duration) error {
	left := time.Until(v.deadline)
	if left <= 0 {
		return errDeadline
	}
	if d > left {
		d = left
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func (v *verifier) verify(ctx context.Context, t *TableResult, i, n int) error {
	start := time.Now()
	defer func() { t.Waited = time.Since(start) }()
	if t.Watermark == nil {
		t.Status = Match
		t.Warnings = append(t.Warnings, "the table has no rows with a value in "+t.Column+" on the source: nothing to verify")
		return nil
	}
	w := *t.Watermark

	// 1. Wait until the target holds the watermark (or anything past it).
	reachedSQL := fmt.Sprintf("SELECT EXISTS (SELECT 1 FROM %s WHERE %s >= $1)", t.ident(), t.col())
	poll := v.opts.Poll
	for {
		var reached bool
		if err := v.dst.QueryRow(ctx, reachedSQL, w).Scan(&reached); err != nil {
			return fmt.Errorf("polling %s on target: %w", t.Table, err)
		}
		if reached {
			break
		}
		v.progress(t, i, n, PhaseWaiting, time.Since(start))
		if err := v.sleep(ctx, poll); err != nil {
			if errors.Is(err, errDeadline) {
				t.Status = Timeout
				t.Detail = fmt.Sprintf("the target has no row with %s >= %s after %s: replication is behind or stopped (check pg_stat_subscription on the target)",
					t.Column, w, v.opts.Timeout)
				return nil
			}
			return err
		}
		poll = min(poll*2, maxPoll)
	}

	// 2. Count; when counts differ, count both sides again until they agree
	// or stop changing. A tracked slot says the target has applied all the
	// source had committed when it was counted.
	need, conf := settleRounds, "stable counts"
	if len(v.slots) > 0 {
		need, conf = settleRoundsTracked, "slot"
	}
	t.Confirmation = conf
	cs, lsn := t.SourceRows, v.snapLSN
	var prev [2]int64
	stable := 0
	countSQL := t.countSQL()
	for round := 0; ; round++ {
		if round > 0 {
			v.progress(t, i, n, PhaseSettling, time.Since(start))
			if err := v.sleep(ctx, max(v.opts.Poll, settleInterval)); err != nil {
				if errors.Is(err, errDeadline) {
					return v.timedOut(t)
				}
				return err
			}
			var err error
			if cs, lsn, err = recount(ctx, v.src, t); err != nil {
				return err
			}
			t.SourceRows = cs
		}
		if len(v.slots) > 0 {
			if err := v.waitSlots(ctx, t, lsn, start, i, n); err != nil {
				if errors.Is(err, errDeadline) {
					return v.timedOut(t)
				}
				return err
			}
		}
		var ct int64
		if err := v.dst.QueryRow(ctx, countSQL, w).Scan(&ct); err != nil {
			return fmt.Errorf("counting %s on target: %w", t.Table, err)
		}
		t.TargetRows = &ct
		if ct == cs {
			t.Status = Match
			return nil
		}
		pair := [2]int64{cs, ct}
		if round > 0 && pair == prev {
			stable++
		} else {
			stable = 1
		}
		prev = pair
		if stable >= need {
			t.Status = Mismatch
			if ct < cs {
				t.Detail = fmt.Sprintf("the target has %d rows fewer than the source with %s <= %s: rows were lost", cs-ct, t.Column, w)
			} else {
				t.Detail = fmt.Sprintf("the target has %d rows more than the source with %s <= %s: rows were added on the target or deleted on the source", ct-cs, t.Column, w)
			}
			return nil
		}
	}
}

func (v *verifier) timedOut(t *TableResult) error {
	t.Status = Timeout
	if t.TargetRows != nil {
		t.Detail = fmt.Sprintf("the counts still differ and were still changing after %s (source %d, target %d): the target may be catching up; rerun with a longer --timeout",
			v.opts.Timeout, t.SourceRows, *t.TargetRows)
	} else {
		t.Detail = fmt.Sprintf("replication slot(s) %s had not confirmed the source position after %s", strings.Join(v.slots, ", "), v.opts.Timeout)
	}
	return nil
}

// waitSlots waits until every tracked slot has confirmed lsn.
func (v *verifier) waitSlots(ctx context.Context, t *TableResult, lsn string, start time.Time, i, n int) error {
	poll := v.opts.Poll
	for {
		behind, err := replication.Behind(ctx, v.src, v.slots, lsn)
		if err != nil {
			return err
		}
		if len(behind) == 0 {
			return nil
		}
		v.progress(t, i, n, PhaseWaiting, time.Since(start))
		if err := v.sleep(ctx, poll); err != nil {
			return err
		}
		poll = min(poll*2, maxPoll)
	}
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// afterSnapshotHook lets tests commit on the source between the snapshot and
// the target's count.
var afterSnapshotHook func()
