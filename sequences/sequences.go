package sequences

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/catalog"
)

var (
	//go:embed sql/sequences.sql
	sequencesSQL string
	//go:embed sql/columns.sql
	columnsSQL string
)

// DefaultMargin is the margin the CLI adds above the highest used value.
const DefaultMargin = 1000

// DB is what the package needs from a connection: a *pgx.Conn, a pgx.Tx (Sync
// then works inside the caller's transaction through a savepoint) or a pool.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Options select the sequences and set the sync margin.
type Options struct {
	// Selection filters sequences by schema.name globs (--sequence/--exclude).
	Selection catalog.Selection
	// Margin is added above the highest used value when syncing (>= 0).
	// The CLI default is DefaultMargin; zero is a valid margin.
	Margin int64
}

// Status is the verdict for one sequence.
type Status string

// Statuses.
const (
	// Safe: the target's next value is beyond everything used.
	Safe Status = "safe"
	// Unsafe: the target's next value may collide; Sync moves it.
	Unsafe Status = "unsafe"
	// Synced: Sync moved it and it is now safe.
	Synced Status = "synced"
	// MissingOnTarget: the source has it, the target does not; Sync cannot
	// create it.
	MissingOnTarget Status = "missing_on_target"
	// Error: it could not be read (privileges, unreadable column).
	Error Status = "error"
)

// Params are a sequence's definition (pg_sequence).
type Params struct {
	DataType  string // smallint, integer or bigint
	Start     int64
	Increment int64
	Min       int64
	Max       int64
	Cycle     bool
}

// Value is a sequence's state: nextval() returns LastValue+Increment when
// IsCalled, LastValue itself otherwise.
type Value struct {
	LastValue int64
	IsCalled  bool
}

// Side is a sequence as one database has it.
type Side struct {
	OID uint32
	Params
	// Value is nil when the sequence could not be read.
	Value *Value
}

// Column is a target column that draws values from a sequence.
type Column struct {
	Table  string // schema.name, quoted where Postgres needs it
	Schema string
	Name   string
	Column string
	// Links says how: "owned" (serial or OWNED BY), "identity", "default"
	// (its default calls nextval() on the sequence).
	Links    []string
	DataType string
	// Min and Max are the column's extremes on the target, rounded outward
	// for numeric; nil when the table has no rows or the column is not a
	// number.
	Min, Max *big.Int
	// Compared is false for columns whose type cannot hold sequence values
	// as numbers (e.g. text keys built from nextval()).
	Compared bool

	baseType string
}

// Sequence is the comparison of one sequence.
type Sequence struct {
	Schema  string
	Name    string
	Display string // schema.name, quoted where Postgres needs it
	// Source and Target are nil when that side has no such sequence.
	Source *Side
	Target *Side
	// Columns are the target columns drawing from the target sequence.
	Columns []Column
	// ColumnMax and ColumnMin are the extremes over Columns (nil if none).
	ColumnMax, ColumnMin *big.Int
	// Required is the next value the target must reach: next >= Required
	// for an ascending sequence, next <= Required for a descending one. Nil
	// when nothing constrains it.
	Required *big.Int
	// TargetNext is what nextval() on the target would return.
	TargetNext *big.Int
	// SyncValue is the value Sync sets with setval(seq, v, true) when the
	// sequence is unsafe: the highest used value plus the margin.
	SyncValue *big.Int
	Status    Status
	// Detail explains an unsafe, missing or error status and how to fix it.
	Detail string
	// Notes are findings that do not change the status.
	Notes []string
	// Before is the target's state before Sync, After its state after; both
	// nil unless Sync moved the sequence.
	Before, After *Value

	syncErr error
}

// Descending reports whether the target sequence counts down.
func (s *Sequence) Descending() bool {
	p := s.Target
	if p == nil {
		p = s.Source
	}
	return p != nil && p.Increment < 0
}

// Result is the comparison of every selected sequence, sorted by schema.name.
type Result struct {
	Sequences []Sequence
	Margin    int64
	// SyncRan is true when Sync was called (even with nothing to do).
	SyncRan bool
}

// Summary counts sequences by status.
type Summary struct {
	Total, Safe, Unsafe, Synced, MissingOnTarget, Error int
}

// Summary counts the statuses.
func (r *Result) Summary() Summary {
	s := Summary{Total: len(r.Sequences)}
	for _, q := range r.Sequences {
		switch q.Status {
		case Safe:
			s.Safe++
		case Unsafe:
			s.Unsafe++
		case Synced:
			s.Synced++
		case MissingOnTarget:
			s.MissingOnTarget++
		case Error:
			s.Error++
		}
	}
	return s
}

// Findings is how many sequences can still hand out a used value: unsafe
// ones and ones missing on the target.
func (s Summary) Findings() int { return s.Unsafe + s.MissingOnTarget }

// Compare reads every selected sequence on both sides and decides which
// target sequences are safe. It only reads.
func Compare(ctx context.Context, src, dst DB, opts Options) (*Result, error) {
	if opts.Margin < 0 {
		return nil, fmt.Errorf("margin must be >= 0, got %d", opts.Margin)
	}
	if err := opts.Selection.Validate(); err != nil {
		return nil, err
	}
	srcSeqs, err := listSequences(ctx, src, "source")
	if err != nil {
		return nil, err
	}
	dstSeqs, err := listSequences(ctx, dst, "target")
	if err != nil {
		return nil, err
	}

	byKey := map[string]*Sequence{}
	var keys []string
	add := func(l listed, source bool) {
		k := catalog.Key(l.schema, l.name)
		if !opts.Selection.Match(l.schema, l.name) {
			return
		}
		s := byKey[k]
		if s == nil {
			s = &Sequence{Schema: l.schema, Name: l.name, Display: l.display}
			byKey[k] = s
			keys = append(keys, k)
		}
		side := &Side{OID: l.oid, Params: l.params}
		if source {
			s.Source = side
		} else {
			s.Target = side
		}
	}
	for _, l := range srcSeqs {
		add(l, true)
	}
	for _, l := range dstSeqs {
		add(l, false)
	}
	if len(opts.Selection.Include) > 0 {
		var all [][2]string
		for _, l := range append(append([]listed{}, srcSeqs...), dstSeqs...) {
			all = append(all, [2]string{l.schema, l.name})
		}
		if un := opts.Selection.Unmatched(all); len(un) > 0 {
			return nil, fmt.Errorf("no sequence matches %q on source or target", un[0])
		}
	}
	sort.Strings(keys)
	res := &Result{Margin: opts.Margin}
	for _, k := range keys {
		res.Sequences = append(res.Sequences, *byKey[k])
	}
	seqs := res.Sequences

	if err := readValues(ctx, src, seqs, true, readableIn(srcSeqs)); err != nil {
		return nil, fmt.Errorf("reading source sequences: %w", err)
	}
	if err := readValues(ctx, dst, seqs, false, readableIn(dstSeqs)); err != nil {
		return nil, fmt.Errorf("reading target sequences: %w", err)
	}
	if err := readColumns(ctx, dst, seqs); err != nil {
		return nil, fmt.Errorf("reading target columns: %w", err)
	}
	for i := range seqs {
		judge(&seqs[i], opts.Margin)
	}
	return res, nil
}

// judge sets the status of one compared sequence.
func judge(s *Sequence, margin int64) {
	s.Required, s.TargetNext, s.SyncValue, s.Detail, s.Notes, s.syncErr = nil, nil, nil, "", nil, nil
	switch {
	case s.Target == nil:
		s.Status = MissingOnTarget
		s.Detail = fmt.Sprintf("sequence %s does not exist on the target and --sync cannot create it: create it there (pg_dump --schema-only --table %s from the source), then rerun with --sync", s.Display, s.Display)
		return
	case s.Source != nil && s.Source.Value == nil:
		s.Status = Error
		s.Detail = privilegeHint(s.Display, "source")
		return
	case s.Target.Value == nil:
		s.Status = Error
		s.Detail = privilegeHint(s.Display, "target")
		return
	}
	for _, c := range s.Columns {
		if !c.Compared {
			s.Notes = append(s.Notes, fmt.Sprintf("column %s.%s (%s) draws from it but is not a number: not compared", c.Table, pgx.Identifier{c.Column}.Sanitize(), c.DataType))
		}
	}
	if s.Target.Cycle {
		s.Notes = append(s.Notes, "CYCLE sequence: once it wraps around it hands out used values again")
	}
	var src *Value
	if s.Source != nil {
		src = s.Source.Value
		if s.Source.Params != s.Target.Params {
			s.Notes = append(s.Notes, fmt.Sprintf("definition differs: source %s, target %s", describe(s.Source.Params), describe(s.Target.Params)))
		}
	} else {
		s.Notes = append(s.Notes, "exists only on the target: checked against its columns only")
	}
	p := evaluate(s.Target.Params, *s.Target.Value, src, s.ColumnMin, s.ColumnMax, margin)
	s.Required, s.TargetNext = p.required, p.next
	if p.safe {
		s.Status = Safe
		s.Detail = ""
		return
	}
	s.Status = Unsafe
	s.SyncValue = p.syncValue
	s.syncErr = p.syncErr
	why := "the target's next value " + p.next.String()
	if s.Descending() {
		why += " is not below " + p.required.String()
	} else {
		why += " is not above what is already used (needs >= " + p.required.String() + ")"
	}
	if p.syncErr != nil {
		var re *RangeError
		if errors.As(p.syncErr, &re) {
			re.Sequence = s.Display
		}
		s.Detail = why + "; " + p.syncErr.Error()
		return
	}
	s.Detail = why + fmt.Sprintf("; --sync sets it to %s", p.syncValue)
}

func privilegeHint(seq, side string) string {
	return fmt.Sprintf("cannot read sequence %s on the %s: no SELECT privilege (GRANT SELECT ON SEQUENCE %s TO the pgverify role)", seq, side, seq)
}

func describe(p Params) string {
	s := fmt.Sprintf("%s increment %d min %d max %d", p.DataType, p.Increment, p.Min, p.Max)
	if p.Cycle {
		s += " cycle"
	}
	return s
}

// listed is one row of sequences.sql.
type listed struct {
	oid      uint32
	schema   string
	name     string
	display  string
	params   Params
	readable bool
}

func listSequences(ctx context.Context, q DB, role string) ([]listed, error) {
	rows, err := q.Query(ctx, sequencesSQL)
	if err != nil {
		return nil, fmt.Errorf("listing %s sequences: %w", role, err)
	}
	var out []listed
	for rows.Next() {
		var l listed
		var oid int64
		if err := rows.Scan(&oid, &l.schema, &l.name, &l.display, &l.params.DataType, &l.params.Start,
			&l.params.Increment, &l.params.Min, &l.params.Max, &l.params.Cycle, &l.readable); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing %s sequences: %w", role, err)
		}
		l.oid = uint32(oid)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing %s sequences: %w", role, err)
	}
	return out, nil
}

// readValues reads last_value and is_called of each sequence on one side in
// one round trip. Sequences the role cannot read keep a nil Value.
func readValues(ctx context.Context, q DB, seqs []Sequence, source bool, readable func(oid uint32) bool) error {
	b := &pgx.Batch{}
	var sides []*Side
	for i := range seqs {
		side := seqs[i].Target
		if source {
			side = seqs[i].Source
		}
		if side == nil {
			continue
		}
		side.Value = nil
		if !readable(side.OID) {
			continue
		}
		sides = append(sides, side)
		b.Queue(valueSQL(seqs[i].Schema, seqs[i].Name))
	}
	return runBatch(ctx, q, b, len(sides), func(i int, r pgx.Row) error {
		var v Value
		if err := r.Scan(&v.LastValue, &v.IsCalled); err != nil {
			return err
		}
		sides[i].Value = &v
		return nil
	})
}

func readableIn(ls []listed) func(uint32) bool {
	m := map[uint32]bool{}
	for _, l := range ls {
		m[l.oid] = l.readable
	}
	return func(oid uint32) bool { return m[oid] }
}

func valueSQL(schema, name string) string {
	return "SELECT last_value, is_called FROM " + pgx.Identifier{schema, name}.Sanitize()
}

func runBatch(ctx context.Context, q DB, b *pgx.Batch, n int, scan func(i int, r pgx.Row) error) error {
	if n == 0 {
		return nil
	}
	br := q.SendBatch(ctx, b)
	for i := 0; i < n; i++ {
		if err := scan(i, br.QueryRow()); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// numericTypes hold sequence values as numbers; other columns drawing from a
// sequence (text keys built from nextval()) are listed but not compared.
var numericTypes = map[string]bool{"int2": true, "int4": true, "int8": true, "numeric": true}

// readColumns finds the target columns drawing from each target sequence and
// reads their extremes. Row-level security is switched off for the reads so
// a policy cannot hide rows and understate max(): the query fails instead.
func readColumns(ctx context.Context, q DB, seqs []Sequence) error {
	tx, err := q.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT set_config('row_security', 'off', true)"); err != nil {
		return err
	}
	if err := readColumnsIn(ctx, tx, seqs); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func readColumnsIn(ctx context.Context, tx pgx.Tx, seqs []Sequence) error {
	byOID := map[uint32]*Sequence{}
	for i := range seqs {
		seqs[i].Columns, seqs[i].ColumnMax, seqs[i].ColumnMin = nil, nil, nil
		if seqs[i].Target != nil {
			byOID[seqs[i].Target.OID] = &seqs[i]
		}
	}
	rows, err := tx.Query(ctx, columnsSQL)
	if err != nil {
		return err
	}
	for rows.Next() {
		var oid int64
		var c Column
		if err := rows.Scan(&oid, &c.Schema, &c.Name, &c.Table, &c.Column, &c.Links, &c.DataType, &c.baseType); err != nil {
			rows.Close()
			return err
		}
		if s := byOID[uint32(oid)]; s != nil {
			c.Compared = numericTypes[c.baseType]
			s.Columns = append(s.Columns, c)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}

	b := &pgx.Batch{}
	var cols []*Column
	for i := range seqs {
		for j := range seqs[i].Columns {
			c := &seqs[i].Columns[j]
			if !c.Compared {
				continue
			}
			cols = append(cols, c)
			col := pgx.Identifier{c.Column}.Sanitize()
			b.Queue(fmt.Sprintf("SELECT min(%s)::text, max(%s)::text FROM %s", col, col, pgx.Identifier{c.Schema, c.Name}.Sanitize()))
		}
	}
	err = runBatch(ctx, tx, b, len(cols), func(i int, r pgx.Row) error {
		var lo, hi *string
		if err := r.Scan(&lo, &hi); err != nil {
			return fmt.Errorf("reading min/max of %s.%s: %w", cols[i].Table, cols[i].Column, err)
		}
		var err error
		if lo != nil {
			if cols[i].Min, err = ratBound(*lo, false); err != nil {
				return err
			}
		}
		if hi != nil {
			if cols[i].Max, err = ratBound(*hi, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range seqs {
		s := &seqs[i]
		for _, c := range s.Columns {
			if c.Max != nil && (s.ColumnMax == nil || c.Max.Cmp(s.ColumnMax) > 0) {
				s.ColumnMax = c.Max
			}
			if c.Min != nil && (s.ColumnMin == nil || c.Min.Cmp(s.ColumnMin) < 0) {
				s.ColumnMin = c.Min
			}
		}
	}
	return nil
}
