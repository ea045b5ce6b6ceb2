package checksum

import (
	"bytes"
	"encoding/json"
	"time"
)

// Status of one table's comparison.
type Status string

// Table statuses, as in the JSON contract.
const (
	StatusMatch           Status = "match"
	StatusMismatch        Status = "mismatch"
	StatusUnstable        Status = "unstable"
	StatusMissingOnTarget Status = "missing_on_target"
	StatusMissingOnSource Status = "missing_on_source"
	StatusError           Status = "error"
)

// DiffKind says how a row differs.
type DiffKind string

// Row difference kinds.
const (
	DiffMissing  DiffKind = "missing"  // on the source, not on the target
	DiffExtra    DiffKind = "extra"    // on the target, not on the source
	DiffChanged  DiffKind = "changed"  // on both, with different values
	DiffUnstable DiffKind = "unstable" // kept changing while replication caught up
)

// KeyPart is one key column and its value as Postgres text output.
type KeyPart struct {
	Column string
	Value  *string // nil is SQL NULL (only in rows of tables without a key)
}

// Key identifies a row: the primary key columns in key order, or every
// column for tables without a primary key. It marshals as a JSON object in
// column order.
type Key []KeyPart

// MarshalJSON writes {"col":"value",...} preserving column order.
func (k Key) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range k {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(p.Column)
		b.Write(name)
		b.WriteByte(':')
		if p.Value == nil {
			b.WriteString("null")
		} else {
			v, _ := json.Marshal(*p.Value)
			b.Write(v)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// String renders the key for people: id=42 or (a=1, b=x).
func (k Key) String() string {
	var b bytes.Buffer
	for i, p := range k {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Column)
		b.WriteByte('=')
		if p.Value == nil {
			b.WriteString("NULL")
		} else {
			b.WriteString(*p.Value)
		}
	}
	return b.String()
}

// Difference is one row that differs.
type Difference struct {
	Kind    DiffKind `json:"kind"`
	Key     Key      `json:"key"`
	Columns []string `json:"columns,omitempty"`
}

// TableResult is the outcome for one table.
type TableResult struct {
	Table       string       `json:"table"`
	Status      Status       `json:"status"`
	RowsSource  int64        `json:"rows_source"`
	RowsTarget  int64        `json:"rows_target"`
	Ranges      int          `json:"ranges"`
	Differences []Difference `json:"differences"`
	// DifferenceCount is how many rows were found to differ, before the
	// --max-diffs cut (a lower bound when differences_truncated is set
	// because the drill-down stopped early).
	DifferenceCount int `json:"difference_count"`
	// DifferencesTruncated is set when --max-diffs stopped the drill-down:
	// more rows differ than are listed.
	DifferencesTruncated bool `json:"differences_truncated,omitempty"`
	// Rechecks is how many times differing rows were re-read after the
	// target caught up.
	Rechecks int      `json:"rechecks,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	Error    string   `json:"error,omitempty"`
	// Duration is wall time spent on this table.
	Duration time.Duration `json:"-"`
	// DurationMS is Duration in milliseconds, for JSON.
	DurationMS int64 `json:"duration_ms"`
	// NoKey is set for tables compared as multisets (no primary key).
	NoKey bool `json:"no_primary_key,omitempty"`
	// KeyIndex names the unique index (on NOT NULL columns) whose columns
	// identify rows, for a table without a primary key.
	KeyIndex string `json:"key_index,omitempty"`
}

// Summary totals a run.
type Summary struct {
	Tables          int    `json:"tables"`
	Match           int    `json:"match"`
	Mismatch        int    `json:"mismatch"`
	Unstable        int    `json:"unstable"`
	MissingOnTarget int    `json:"missing_on_target"`
	MissingOnSource int    `json:"missing_on_source"`
	Errors          int    `json:"error"`
	RowsSource      int64  `json:"rows_source"`
	RowsTarget      int64  `json:"rows_target"`
	Differences     int    `json:"differences"`
	DurationMS      int64  `json:"duration_ms"`
	SourceVersion   string `json:"source_version"`
	TargetVersion   string `json:"target_version"`
	// SnapshotLSN is the source WAL position of the compared snapshot.
	SnapshotLSN string `json:"snapshot_lsn,omitempty"`
	// Replication describes the live subscription found, if any.
	Replication string `json:"replication,omitempty"`
	// CatchUpWaitMS is the time spent waiting for the subscriber to apply
	// past the source snapshot (and before each re-check).
	CatchUpWaitMS int64 `json:"catchup_wait_ms,omitempty"`
	// Shard is the --shard compared ("I/N"), empty for all rows.
	Shard string `json:"shard,omitempty"`
	// FromState is how many tables were taken as verified from --state.
	FromState int `json:"from_state,omitempty"`
	// Verdict is "equal", "different" or "unverified"; it matches the exit code.
	Verdict string `json:"verdict"`
}

// Result is a whole run.
type Result struct {
	Tables  []TableResult `json:"tables"`
	Summary Summary       `json:"summary"`
}

// Verdicts.
const (
	VerdictEqual      = "equal"
	VerdictDifferent  = "different"
	VerdictUnverified = "unverified"
)

func (r *Result) summarize(d time.Duration) {
	s := &r.Summary
	s.Tables = len(r.Tables)
	for i := range r.Tables {
		t := &r.Tables[i]
		t.DurationMS = t.Duration.Milliseconds()
		if t.Differences == nil {
			t.Differences = []Difference{}
		}
		s.RowsSource += t.RowsSource
		s.RowsTarget += t.RowsTarget
		s.Differences += len(t.Differences)
		switch t.Status {
		case StatusMatch:
			s.Match++
		case StatusMismatch:
			s.Mismatch++
		case StatusUnstable:
			s.Unstable++
		case StatusMissingOnTarget:
			s.MissingOnTarget++
		case StatusMissingOnSource:
			s.MissingOnSource++
		case StatusError:
			s.Errors++
		}
	}
	s.DurationMS = d.Milliseconds()
	switch {
	case s.Mismatch+s.Unstable+s.MissingOnTarget+s.MissingOnSource > 0:
		s.Verdict = VerdictDifferent
	case s.Errors > 0:
		s.Verdict = VerdictUnverified
	default:
		s.Verdict = VerdictEqual
	}
}
