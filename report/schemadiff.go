package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/pgverify/pgverify/schema/diff"
)

// SchemaDiffDoc is the JSON document of `pgverify schema diff`. Its fields
// are a stable, documented contract (docs/schema-diff.md): add, never
// rename or remove.
type SchemaDiffDoc struct {
	SourceServer diff.Server            `json:"source_server"`
	TargetServer diff.Server            `json:"target_server"`
	Privileges   bool                   `json:"privileges"`
	Summary      SchemaDiffSummary      `json:"summary"`
	Differences  []SchemaDiffDifference `json:"differences"`
	Compared     []SchemaDiffCount      `json:"compared"`
	Notes        []string               `json:"notes"`
	// NotCompared lists the object kinds and properties schema diff does
	// not compare.
	NotCompared []string `json:"not_compared"`
}

// SchemaDiffSummary counts the differences by severity.
type SchemaDiffSummary struct {
	Errors  int `json:"errors"`
	Notices int `json:"notices"`
	// Verdict is different when an error-severity difference exists
	// (exit 1), else equal (notices allowed).
	Outcome
}

// SchemaDiffDifference is one difference. Source and Target are null when
// the object or value is absent on that side.
type SchemaDiffDifference struct {
	ObjectType string  `json:"object_type"`
	Object     string  `json:"object"`
	Kind       string  `json:"kind"`
	Attribute  string  `json:"attribute,omitempty"`
	Severity   string  `json:"severity"`
	Source     *string `json:"source"`
	Target     *string `json:"target"`
}

// SchemaDiffCount is how many objects of one type each side has.
type SchemaDiffCount struct {
	ObjectType string `json:"object_type"`
	Source     int    `json:"source"`
	Target     int    `json:"target"`
}

// SchemaDiffVerdict is different (an error-severity difference: exit 1) or
// equal.
func SchemaDiffVerdict(r *diff.Result) string {
	if r.Errors() > 0 {
		return "different"
	}
	return "equal"
}

// NewSchemaDiffDoc converts a result to its JSON document.
func NewSchemaDiffDoc(r *diff.Result) SchemaDiffDoc {
	doc := SchemaDiffDoc{
		SourceServer: r.Source,
		TargetServer: r.Target,
		Privileges:   r.Privileges,
		Summary:      SchemaDiffSummary{Errors: r.Errors(), Notices: r.Notices(), Outcome: NewOutcome(SchemaDiffVerdict(r))},
		Differences:  make([]SchemaDiffDifference, 0, len(r.Differences)),
		Compared:     make([]SchemaDiffCount, 0, len(r.Compared)),
		Notes:        append([]string{}, r.Notes...),
		NotCompared:  append([]string{}, r.NotCompared...),
	}
	for _, d := range r.Differences {
		doc.Differences = append(doc.Differences, SchemaDiffDifference{
			ObjectType: d.ObjectType, Object: d.Object, Kind: string(d.Kind), Attribute: d.Attribute,
			Severity: string(d.Severity), Source: d.Source, Target: d.Target,
		})
	}
	for _, c := range r.Compared {
		doc.Compared = append(doc.Compared, SchemaDiffCount{ObjectType: c.ObjectType, Source: c.Source, Target: c.Target})
	}
	return doc
}

// SchemaDiffJSON writes the result as JSON.
// SchemaDiff renders a schema diff in format f.
func SchemaDiff(w io.Writer, f Format, r *diff.Result) error {
	switch f {
	case JUnit:
		return SchemaDiffJUnit(w, r)
	case Markdown:
		return SchemaDiffMarkdown(w, r)
	}
	if f == JSON {
		return SchemaDiffJSON(w, r)
	}
	return SchemaDiffText(w, r)
}

func SchemaDiffJSON(w io.Writer, r *diff.Result) error { return writeJSON(w, NewSchemaDiffDoc(r)) }

// SchemaDiffText writes the result for people: one block per object with
// what differs, then the object counts compared, then notes.
func SchemaDiffText(w io.Writer, r *diff.Result) error {
	ew := &schemaDiffWriter{w: w}
	priv := "owners and grants not compared; use --privileges"
	if r.Privileges {
		priv = "owners and grants compared"
	}
	ew.printf("Schema diff: source PostgreSQL %s, target PostgreSQL %s (%s)\n\n", r.Source.Version, r.Target.Version, priv)

	var last string
	for _, d := range r.Differences {
		head := d.ObjectType + " " + d.Object
		if head != last {
			if last != "" {
				ew.printf("\n")
			}
			ew.printf("%s\n", head)
			last = head
		}
		tag := ""
		if d.Severity == diff.SeverityNotice {
			tag = " [notice]"
		}
		switch d.Kind {
		case diff.Missing:
			ew.printf("  missing on target%s\n", tag)
			schemaDiffValue(ew, "source", d.Source)
		case diff.Extra:
			ew.printf("  extra on target%s\n", tag)
			schemaDiffValue(ew, "target", d.Target)
		default:
			ew.printf("  %s changed%s\n", d.Attribute, tag)
			schemaDiffValue(ew, "source", d.Source)
			schemaDiffValue(ew, "target", d.Target)
		}
	}
	if len(r.Differences) > 0 {
		ew.printf("\n")
	}
	if ew.err != nil {
		return ew.err
	}

	rows := make([][]any, 0, len(r.Compared))
	for _, c := range r.Compared {
		rows = append(rows, []any{c.ObjectType, c.Source, c.Target})
	}
	if len(rows) > 0 {
		if err := Table(w, []any{"OBJECT TYPE", "SOURCE", "TARGET"}, rows); err != nil {
			return err
		}
		ew.printf("\n")
	}
	for _, n := range r.Notes {
		ew.printf("note: %s\n", n)
	}
	if len(r.NotCompared) > 0 {
		ew.printf("not compared: %s.\n", strings.Join(r.NotCompared, ", "))
	}
	ew.printf("%s\n", SchemaDiffVerdictLine(r))
	return ew.err
}

// SchemaDiffVerdictLine is the last line of the text report.
func SchemaDiffVerdictLine(r *diff.Result) string {
	switch errs, notices := r.Errors(), r.Notices(); {
	case errs == 0 && notices == 0:
		return "No schema differences."
	case errs == 0:
		return fmt.Sprintf("No schema differences; %s.", schemaDiffPlural(notices, "notice"))
	default:
		return fmt.Sprintf("%s, %s.", schemaDiffPlural(errs, "difference"), schemaDiffPlural(notices, "notice"))
	}
}

// schemaDiffValue prints one side's value; multi-line values (view
// definitions, function bodies) are indented under it.
func schemaDiffValue(ew *schemaDiffWriter, side string, v *string) {
	if v == nil {
		ew.printf("    %s: (none)\n", side)
		return
	}
	lines := strings.Split(strings.TrimRight(*v, "\n"), "\n")
	if len(lines) == 1 {
		ew.printf("    %s: %s\n", side, lines[0])
		return
	}
	ew.printf("    %s:\n", side)
	for _, l := range lines {
		ew.printLine("      | ", l)
	}
}

func schemaDiffPlural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// schemaDiffWriter keeps the first write error so a report's many small writes
// need one check.
type schemaDiffWriter struct {
	w   io.Writer
	err error
}

func (e *schemaDiffWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, cleanAll(a)...)
	}
}

func (e *schemaDiffWriter) printLine(prefix string, l string) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, "%s%s\n", prefix, cleanText(l))
	}
}
