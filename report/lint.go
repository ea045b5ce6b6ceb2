package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/pgverify/pgverify/schema/lint"
)

// LintText renders `schema lint` findings for people: one
// "file:line:col: CODE severity message" line per finding (grep- and
// editor-friendly), an indented "via:" line with the reachability chain and
// a "fix:" line with the SQL, then a summary line. In --db mode the location
// is the function, with the line and column inside its body.
func LintText(w io.Writer, r *lint.Result) error {
	for _, f := range r.Findings {
		if _, err := fmt.Fprintf(w, "%s: %s %s %s\n", cleanAll([]any{LintLocation(f), f.Code, f.Severity, f.Message})...); err != nil {
			return err
		}
		if len(f.Chain) > 0 {
			if _, err := fmt.Fprintf(w, "    via: %s\n", Clean(strings.Join(f.Chain, " → "))); err != nil {
				return err
			}
		}
		if f.Fix != "" {
			if _, err := fmt.Fprintf(w, "    fix: %s\n", Clean(f.Fix)); err != nil {
				return err
			}
		}
	}
	for _, o := range r.InputOrder {
		if _, err := fmt.Fprintf(w, "order: %s\n", o); err != nil {
			return err
		}
	}
	if len(r.Skipped) > 0 {
		if _, err := fmt.Fprintf(w, "skipped: %s\n", strings.Join(r.Skipped, ", ")); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, LintSummary(r))
	return err
}

// LintLocation is "file:line:col", or "function:line:col" for a database.
func LintLocation(f lint.Finding) string {
	where := f.File
	if where == "" {
		where = lintObjectName(f.Object)
	}
	return fmt.Sprintf("%s:%d:%d", where, f.Line, f.Col)
}

// lintObjectName drops the kind word: "function public.f(int)" → "public.f(int)".
func lintObjectName(obj string) string {
	for _, p := range []string{"function ", "procedure "} {
		if s, ok := strings.CutPrefix(obj, p); ok {
			return s
		}
	}
	return obj
}

// LintSummary is the last line of the text report.
func LintSummary(r *lint.Result) string {
	var b strings.Builder
	e, wn := r.Errors(), r.Warnings()
	if e+wn == 0 {
		b.WriteString("no findings")
	} else {
		fmt.Fprintf(&b, "%d %s, %d %s", e, plural(e, "error", "errors"), wn, plural(wn, "warning", "warnings"))
	}
	if r.Suppressed > 0 {
		fmt.Fprintf(&b, " (%d suppressed)", r.Suppressed)
	}
	fmt.Fprintf(&b, "; %d %s checked", r.Functions, plural(r.Functions, "function", "functions"))
	if r.Mode == "database" {
		fmt.Fprintf(&b, " in database %s against its own pg_catalog (PostgreSQL %d)", Clean(strings.Join(r.Inputs, ", ")), r.PGVersion)
	} else {
		fmt.Fprintf(&b, " in %d %s against PostgreSQL %d's pg_catalog", len(r.Inputs), plural(len(r.Inputs), "file", "files"), r.PGVersion)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// LintReport is the JSON document of `schema lint --format json`.
type LintReport struct {
	Tool      string         `json:"tool"`
	Mode      string         `json:"mode"`
	Inputs    []string       `json:"inputs"`
	PGVersion int            `json:"pg_version"`
	Functions int            `json:"functions"`
	Summary   LintCounts     `json:"summary"`
	Findings  []lint.Finding `json:"findings"`
	Fixes     []lint.Fix     `json:"fixes"`
	// InputOrder and Skipped: how input directories were replayed.
	InputOrder []string `json:"input_order,omitempty"`
	Skipped    []string `json:"skipped,omitempty"`
}

// LintCounts sums up the findings.
type LintCounts struct {
	Errors     int `json:"errors"`
	Warnings   int `json:"warnings"`
	Suppressed int `json:"suppressed"`
	// Verdict is findings (exit 1: errors, or warnings with --strict) or
	// clean.
	Outcome
}

// LintVerdict is findings when the lint fails (exit 1), else clean.
func LintVerdict(r *lint.Result, strict bool) string {
	if r.Failed(strict) {
		return "findings"
	}
	return "clean"
}

// LintJSON renders the findings as one JSON document (verdict without
// --strict).
func LintJSON(w io.Writer, r *lint.Result) error { return LintJSONStrict(w, r, false) }

// LintJSONStrict is LintJSON with the verdict of --strict when strict.
func LintJSONStrict(w io.Writer, r *lint.Result, strict bool) error {
	return writeJSON(w, LintReport{
		Tool: "pgverify schema lint", Mode: r.Mode, Inputs: r.Inputs, PGVersion: r.PGVersion,
		Functions: r.Functions,
		Summary:   LintCounts{Errors: r.Errors(), Warnings: r.Warnings(), Suppressed: r.Suppressed, Outcome: NewOutcome(LintVerdict(r, strict))},
		Findings:  r.Findings, Fixes: r.Fixes,
		InputOrder: r.InputOrder, Skipped: r.Skipped,
	})
}

// LintFixSQL renders the remediation as an SQL script (--fix): one
// idempotent statement per function, each preceded by the codes it fixes,
// to run on the source and the target.
func LintFixSQL(w io.Writer, r *lint.Result) error {
	var b strings.Builder
	b.WriteString("-- pgverify schema lint --fix\n")
	b.WriteString("-- Pins search_path on the functions below. Run it on the source and on the\n")
	b.WriteString("-- target (before creating the subscription, or while it retries); every\n")
	b.WriteString("-- statement is idempotent.\n")
	if len(r.Fixes) == 0 {
		b.WriteString("-- Nothing to fix.\n")
	} else {
		b.WriteString("BEGIN;\n")
	}
	for _, f := range r.Fixes {
		// Comments: a newline in a name must not end the comment and
		// turn the rest into SQL.
		fmt.Fprintf(&b, "\n-- %s: %s\n", Clean(f.Object), strings.Join(f.Codes, ", "))
		for _, n := range f.Notes {
			fmt.Fprintf(&b, "-- note: %s\n", Clean(n))
		}
		b.WriteString(f.SQL + "\n")
	}
	if len(r.Fixes) > 0 {
		b.WriteString("\nCOMMIT;\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
