package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/pgverify/pgverify/sequences"
)

// SequencesJSON is the JSON document of `pgverify sequences` (documented in
// docs/sequences.md; fields are only ever added). Sequence values are JSON
// integers, exact to 64 bits.
type SequencesJSON struct {
	Sequences []SequencesItemJSON  `json:"sequences"`
	Summary   SequencesSummaryJSON `json:"summary"`
	Margin    int64                `json:"margin"`
	Sync      bool                 `json:"sync"`
}

// SequencesValueJSON is a sequence's state: nextval() returns last_value +
// increment when is_called, last_value itself otherwise.
type SequencesValueJSON struct {
	LastValue int64 `json:"last_value"`
	IsCalled  bool  `json:"is_called"`
}

// SequencesColumnJSON is a target column drawing from the sequence.
type SequencesColumnJSON struct {
	Table    string       `json:"table"`
	Column   string       `json:"column"`
	Links    []string     `json:"links"`
	DataType string       `json:"data_type"`
	Compared bool         `json:"compared"`
	Min      *json.Number `json:"min"`
	Max      *json.Number `json:"max"`
}

// SequencesItemJSON is one sequence.
type SequencesItemJSON struct {
	Sequence  string `json:"sequence"`
	Schema    string `json:"schema"`
	Name      string `json:"name"`
	DataType  string `json:"data_type"`
	Increment int64  `json:"increment"`
	// Source is null when the source has no such sequence; Target (the
	// state before any sync) is null when the target has none or either is
	// unreadable.
	Source          *SequencesValueJSON   `json:"source"`
	Target          *SequencesValueJSON   `json:"target"`
	Columns         []SequencesColumnJSON `json:"columns"`
	TargetColumnMax *json.Number          `json:"target_column_max"`
	TargetColumnMin *json.Number          `json:"target_column_min"`
	TargetNext      *json.Number          `json:"target_next"`
	// RequiredNext: next must be >= it (ascending) or <= it (descending).
	RequiredNext *json.Number `json:"required_next"`
	Descending   bool         `json:"descending"`
	// SyncValue is what --sync passes (or passed) to setval(seq, v, true).
	SyncValue *json.Number `json:"sync_value"`
	// Status is safe, unsafe, synced, missing_on_target or error.
	Status string              `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Notes  []string            `json:"notes"`
	After  *SequencesValueJSON `json:"after"`
}

// SequencesSummaryJSON counts sequences by status. Verdict is safe (exit 0),
// unsafe (exit 1: unsafe or missing remain) or unverified (exit 2: some
// could not be read, or there was none to check).
type SequencesSummaryJSON struct {
	Sequences       int `json:"sequences"`
	Safe            int `json:"safe"`
	Unsafe          int `json:"unsafe"`
	Synced          int `json:"synced"`
	MissingOnTarget int `json:"missing_on_target"`
	Error           int `json:"error"`
	Outcome
}

// SequencesVerdict is safe, unsafe (a sequence can still hand out a used
// value: exit 1) or unverified (some could not be read and none is unsafe:
// exit 2).
func SequencesVerdict(s sequences.Summary) string {
	switch {
	case s.Findings() > 0:
		return "unsafe"
	case s.Error > 0, s.Total == 0: // nothing checked proves nothing
		return "unverified"
	}
	return "safe"
}

func sequencesNumber(b *big.Int) *json.Number {
	if b == nil {
		return nil
	}
	n := json.Number(b.String())
	return &n
}

func sequencesValue(v *sequences.Value) *SequencesValueJSON {
	if v == nil {
		return nil
	}
	return &SequencesValueJSON{LastValue: v.LastValue, IsCalled: v.IsCalled}
}

// sequencesBefore is the target state before any sync.
func sequencesBefore(s *sequences.Sequence) *sequences.Value {
	if s.Before != nil {
		return s.Before
	}
	if s.Target != nil {
		return s.Target.Value
	}
	return nil
}

// SequencesDocument converts a result to its JSON document.
func SequencesDocument(r *sequences.Result) SequencesJSON {
	s := r.Summary()
	doc := SequencesJSON{
		Sequences: []SequencesItemJSON{},
		Summary: SequencesSummaryJSON{Sequences: s.Total, Safe: s.Safe, Unsafe: s.Unsafe, Synced: s.Synced,
			MissingOnTarget: s.MissingOnTarget, Error: s.Error, Outcome: NewOutcome(SequencesVerdict(s))},
		Margin: r.Margin,
		Sync:   r.SyncRan,
	}
	for i := range r.Sequences {
		q := &r.Sequences[i]
		it := SequencesItemJSON{
			Sequence: q.Display, Schema: q.Schema, Name: q.Name,
			TargetColumnMax: sequencesNumber(q.ColumnMax), TargetColumnMin: sequencesNumber(q.ColumnMin),
			TargetNext: sequencesNumber(q.TargetNext), RequiredNext: sequencesNumber(q.Required),
			Descending: q.Descending(), SyncValue: sequencesNumber(q.SyncValue),
			Status: string(q.Status), Detail: q.Detail, Notes: watermarkStrings(q.Notes),
			After: sequencesValue(q.After), Columns: []SequencesColumnJSON{},
		}
		if q.Status == sequences.Synced && q.Before != nil {
			// The value set is what After holds; keep SyncValue for the record.
			it.SyncValue = sequencesNumber(big.NewInt(q.After.LastValue))
		}
		def := q.Target
		if def == nil {
			def = q.Source
		}
		it.DataType, it.Increment = def.DataType, def.Increment
		if q.Source != nil {
			it.Source = sequencesValue(q.Source.Value)
		}
		it.Target = sequencesValue(sequencesBefore(q))
		for _, c := range q.Columns {
			links := c.Links
			if links == nil {
				links = []string{}
			}
			it.Columns = append(it.Columns, SequencesColumnJSON{Table: c.Table, Column: c.Column, Links: links,
				DataType: c.DataType, Compared: c.Compared, Min: sequencesNumber(c.Min), Max: sequencesNumber(c.Max)})
		}
		doc.Sequences = append(doc.Sequences, it)
	}
	return doc
}

// Sequences renders a `pgverify sequences` result.
func Sequences(w io.Writer, f Format, r *sequences.Result) error {
	switch f {
	case JUnit:
		return SequencesJUnit(w, r)
	case Markdown:
		return SequencesMarkdown(w, r)
	}
	if f == JSON {
		return writeJSON(w, SequencesDocument(r))
	}
	val := func(v *sequences.Value) string {
		switch {
		case v == nil:
			return "-"
		case !v.IsCalled:
			return fmt.Sprintf("%d (not called)", v.LastValue)
		}
		return fmt.Sprint(v.LastValue)
	}
	num := func(b *big.Int, prefix string) string {
		if b == nil {
			return "-"
		}
		return prefix + b.String()
	}
	rows := make([][]any, 0, len(r.Sequences))
	for i := range r.Sequences {
		q := &r.Sequences[i]
		src := "-"
		if q.Source != nil {
			src = val(q.Source.Value)
			if q.Source.Value == nil {
				src = "unreadable"
			}
		}
		tgt := "-"
		if q.Target != nil {
			tgt = val(sequencesBefore(q))
			if sequencesBefore(q) == nil {
				tgt = "unreadable"
			}
		}
		colMax, req := num(q.ColumnMax, ""), num(q.Required, ">= ")
		if q.Descending() {
			colMax, req = num(q.ColumnMin, "min "), num(q.Required, "<= ")
		}
		after := "-"
		if q.After != nil {
			after = val(q.After)
		}
		rows = append(rows, []any{q.Display, src, tgt, colMax, req, string(q.Status), after})
	}
	if err := Table(w, []any{"SEQUENCE", "SOURCE LAST", "TARGET LAST", "TARGET COL MAX", "REQUIRED NEXT", "STATUS", "AFTER"}, rows); err != nil {
		return err
	}
	var b strings.Builder
	for i := range r.Sequences {
		q := &r.Sequences[i]
		if q.Detail == "" && len(q.Notes) == 0 && q.Status != sequences.Synced {
			continue
		}
		fmt.Fprintf(&b, "\n%s: %s", Clean(q.Display), q.Status)
		switch {
		case q.Status == sequences.Synced:
			fmt.Fprintf(&b, ": moved from %s to %s", val(q.Before), val(q.After))
		case q.Detail != "":
			b.WriteString(": " + Clean(q.Detail))
		}
		b.WriteString("\n")
		for _, n := range q.Notes {
			fmt.Fprintf(&b, "  note: %s\n", Clean(n))
		}
	}
	b.WriteString("\n" + SequencesVerdictLine(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// SequencesVerdictLine is the last line of the text report.
func SequencesVerdictLine(r *sequences.Result) string {
	s := r.Summary()
	var verdict string
	switch SequencesVerdict(s) {
	case "safe":
		verdict = fmt.Sprintf("safe: all %d sequence(s) are safe on the target", s.Total)
		if s.Synced > 0 {
			verdict += fmt.Sprintf(", %d moved by --sync", s.Synced)
		} else if r.SyncRan {
			verdict += ", nothing to sync"
		}
	case "unsafe":
		var parts []string
		if s.Unsafe > 0 {
			parts = append(parts, fmt.Sprintf("%d unsafe", s.Unsafe))
		}
		if s.MissingOnTarget > 0 {
			parts = append(parts, fmt.Sprintf("%d missing on the target", s.MissingOnTarget))
		}
		verdict = fmt.Sprintf("unsafe: %s of %d sequence(s)", strings.Join(parts, " and "), s.Total)
		if s.Synced > 0 {
			verdict += fmt.Sprintf("; %d moved by --sync", s.Synced)
		}
		if s.Unsafe > 0 && !r.SyncRan {
			verdict += fmt.Sprintf("; run with --sync to move them forward (margin %d)", r.Margin)
		}
		if s.Error > 0 {
			verdict += fmt.Sprintf("; %d could not be read", s.Error)
		}
	default:
		verdict = fmt.Sprintf("unverified: %d of %d sequence(s) could not be read", s.Error, s.Total)
		if s.Total == 0 {
			verdict = "unverified: no sequences to check"
		}
	}
	return verdict
}
