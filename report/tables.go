package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pgverify/pgverify/checksum"
)

// TablesShowDiffs is how many differences per table the text report lists.
const TablesShowDiffs = 10

// Tables renders a `pgverify tables` result.
func Tables(w io.Writer, f Format, res *checksum.Result) error {
	switch f {
	case JUnit:
		return TablesJUnit(w, res)
	case Markdown:
		return TablesMarkdown(w, res)
	}
	if f == JSON {
		return writeJSONWithSummary(w, res, tablesSummary{tablesSummaryFields{res.Summary}, NewOutcome(res.Summary.Verdict)})
	}
	return tablesText(w, res)
}

// tablesSummary is checksum.Summary, then Outcome: its verdict (one level
// up) takes the place of checksum's, which is the same word.
type tablesSummary struct {
	tablesSummaryFields
	Outcome
}

type tablesSummaryFields struct{ checksum.Summary }

func tablesText(w io.Writer, res *checksum.Result) error {
	rows := make([][]any, 0, len(res.Tables))
	for _, t := range res.Tables {
		diffs := fmt.Sprint(len(t.Differences))
		if t.DifferencesTruncated {
			diffs += "+"
		}
		rows = append(rows, []any{t.Table, string(t.Status), t.RowsSource, t.RowsTarget, t.Ranges, diffs,
			time.Duration(t.DurationMS * int64(time.Millisecond)).String()})
	}
	if err := Table(w, []any{"TABLE", "STATUS", "ROWS SOURCE", "ROWS TARGET", "RANGES", "DIFFERENCES", "TIME"}, rows); err != nil {
		return err
	}
	for _, t := range res.Tables {
		if len(t.Differences) == 0 && t.Error == "" && len(t.Notes) == 0 && t.Status == checksum.StatusMatch {
			continue
		}
		var b strings.Builder
		switch t.Status {
		case checksum.StatusMissingOnTarget:
			fmt.Fprintf(&b, "\n%s: table exists on the source only\n", Clean(t.Table))
		case checksum.StatusMissingOnSource:
			fmt.Fprintf(&b, "\n%s: table exists on the target only\n", Clean(t.Table))
		case checksum.StatusError:
			fmt.Fprintf(&b, "\n%s: could not verify: %s\n", Clean(t.Table), Clean(t.Error))
		case checksum.StatusMatch:
			fmt.Fprintf(&b, "\n%s: match\n", Clean(t.Table))
		default:
			n := fmt.Sprint(len(t.Differences))
			if t.DifferencesTruncated {
				n = "more than " + n
			}
			fmt.Fprintf(&b, "\n%s: %s, %s difference(s)", Clean(t.Table), t.Status, n)
			if t.Rechecks > 0 {
				fmt.Fprintf(&b, " after %d re-check(s)", t.Rechecks)
			}
			b.WriteString("\n")
			for i, d := range t.Differences {
				if i == TablesShowDiffs {
					fmt.Fprintf(&b, "  ... %d more (use --format json for all)\n", len(t.Differences)-i)
					break
				}
				fmt.Fprintf(&b, "  %-8s %s", d.Kind, Clean(d.Key.String()))
				if len(d.Columns) > 0 {
					fmt.Fprintf(&b, "  columns: %s", Clean(strings.Join(d.Columns, ", ")))
				}
				b.WriteString("\n")
			}
		}
		for _, n := range t.Notes {
			fmt.Fprintf(&b, "  note: %s\n", Clean(n))
		}
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", TablesVerdictLine(res.Summary))
	return err
}

// TablesVerdictLine is the last line of the text report: the verdict and
// what it covers, e.g. "different: 2 of 6 table(s) differ (source 13.23, ...)".
func TablesVerdictLine(s checksum.Summary) string {
	var verdict string
	switch s.Verdict {
	case checksum.VerdictEqual:
		verdict = fmt.Sprintf("equal: %d table(s), %d row(s) verified", s.Tables, s.RowsSource)
	case checksum.VerdictDifferent:
		verdict = fmt.Sprintf("different: %d of %d table(s) differ", s.Tables-s.Match-s.Errors, s.Tables)
	default:
		verdict = fmt.Sprintf("unverified: %d of %d table(s) could not be verified", s.Errors, s.Tables)
		if s.Tables == 0 {
			verdict = "unverified: no tables selected"
		}
	}
	if s.Errors > 0 && s.Verdict != checksum.VerdictUnverified {
		verdict += fmt.Sprintf(", %d could not be verified", s.Errors)
	}
	wait := ""
	if s.CatchUpWaitMS >= 1000 {
		wait = fmt.Sprintf(", %s waiting for the subscriber to catch up", time.Duration(s.CatchUpWaitMS*int64(time.Millisecond)).Round(100*time.Millisecond))
	}
	return fmt.Sprintf("%s (source %s, target %s, snapshot %s, %s%s)", verdict, Clean(s.SourceVersion), Clean(s.TargetVersion),
		Clean(s.SnapshotLSN), time.Duration(s.DurationMS*int64(time.Millisecond)), wait)
}
