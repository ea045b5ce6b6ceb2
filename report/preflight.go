package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/pgverify/pgverify/preflight"
)

// preflightTableObjects is how many objects a finding shows in the table;
// preflightDetailObjects how many in its details (JSON lists all).
const (
	preflightTableObjects  = 3
	preflightDetailObjects = 50
)

// PreflightJSON writes the preflight result as documented in docs/preflight.md.
// Preflight renders a preflight result in format f.
func Preflight(w io.Writer, f Format, r *preflight.Result) error {
	switch f {
	case JUnit:
		return PreflightJUnit(w, r)
	case Markdown:
		return PreflightMarkdown(w, r)
	}
	if f == JSON {
		return PreflightJSON(w, r)
	}
	return PreflightText(w, r)
}

func PreflightJSON(w io.Writer, r *preflight.Result) error {
	return writeJSONWithSummary(w, r, preflightSummary{r.Summary, NewOutcome(PreflightVerdict(r))})
}

type preflightSummary struct {
	preflight.Summary
	Outcome
}

// PreflightVerdict is findings (a blocker or critical finding: exit 1) or
// clean (warnings and info allowed).
func PreflightVerdict(r *preflight.Result) string {
	if r.Failed() {
		return "findings"
	}
	return "clean"
}

// PreflightText writes a table of findings (severity, code, side, title,
// objects), then each finding's objects, detail and remedy, then a summary.
func PreflightText(w io.Writer, r *preflight.Result) error {
	head := fmt.Sprintf("pgverify preflight: source PostgreSQL %d (%s)", r.Source.Major, Clean(r.Source.Version))
	if r.Target != nil {
		head += fmt.Sprintf(", target PostgreSQL %d (%s)", r.Target.Major, Clean(r.Target.Version))
	}
	if _, err := fmt.Fprintln(w, head); err != nil {
		return err
	}
	if len(r.Findings) > 0 {
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
		rows := make([][]any, 0, len(r.Findings))
		for _, f := range r.Findings {
			rows = append(rows, []any{f.Severity.String(), f.Code, f.Side, f.Title, preflightObjects(f.Objects, preflightTableObjects)})
		}
		if err := Table(w, []any{"SEVERITY", "CODE", "SIDE", "TITLE", "OBJECTS"}, rows); err != nil {
			return err
		}
		var b strings.Builder
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "\n%s %s (%s): %s\n", cleanAll([]any{f.Code, f.Severity, f.Side, f.Title})...)
			if len(f.Objects) > 0 {
				fmt.Fprintf(&b, "  objects: %s\n", Clean(preflightObjects(f.Objects, preflightDetailObjects)))
			}
			for _, l := range strings.Split(f.Detail, "\n") {
				fmt.Fprintf(&b, "  %s\n", Clean(l))
			}
			if f.Remedy != "" {
				fmt.Fprintf(&b, "  remedy: %s\n", Clean(f.Remedy))
			}
		}
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	line := "\n" + PreflightVerdictLine(r) + "\n"
	if len(r.Ignored) > 0 {
		line += "ignored: " + Clean(strings.Join(r.Ignored, ", ")) + "\n"
	}
	_, err := io.WriteString(w, line)
	return err
}

// PreflightVerdictLine counts the findings by severity and says what to do.
func PreflightVerdictLine(r *preflight.Result) string {
	s := r.Summary
	verdict := "nothing found that would stop replication or lose data"
	if r.Failed() {
		verdict = "fix the blockers and critical findings before starting"
	}
	return fmt.Sprintf("%s, %s, %s, %s: %s",
		preflightPlural(s.Blocker, "blocker"), preflightPlural(s.Critical, "critical"), preflightPlural(s.Warning, "warning"), preflightPlural(s.Info, "info"), verdict)
}

// preflightObjects joins up to n objects and says how many more there are.
func preflightObjects(objs []string, n int) string {
	if len(objs) <= n {
		return strings.Join(objs, ", ")
	}
	return fmt.Sprintf("%s (+%d more)", strings.Join(objs[:n], ", "), len(objs)-n)
}

// preflightPlural writes "1 blocker" / "2 blockers"; critical and info do not inflect.
func preflightPlural(n int, word string) string {
	if n == 1 || word == "critical" || word == "info" {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
