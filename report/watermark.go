package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pgverify/pgverify/watermark"
)

// WatermarkJSON is the JSON document of `pgverify watermark` (documented in
// docs/watermark.md; fields are only ever added).
type WatermarkJSON struct {
	Tables  []WatermarkTableJSON `json:"tables"`
	Summary WatermarkSummaryJSON `json:"summary"`
	// SourceLSN is the source's WAL position at the snapshot.
	SourceLSN string `json:"source_lsn"`
	// TrackedSlots are the source replication slots whose confirmed
	// position proved the target had caught up (empty: none visible).
	TrackedSlots []string `json:"tracked_slots"`
	TimeoutMS    int64    `json:"timeout_ms"`
}

// WatermarkTableJSON is one table and column.
type WatermarkTableJSON struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	Type   string `json:"type"`
	// Watermark is max(column) on the source as Postgres prints it (UTC,
	// ISO); null when the source has no rows.
	Watermark *string `json:"watermark"`
	// Rows counted with column <= watermark on each side.
	SourceRows        int64  `json:"source_rows"`
	TargetRows        *int64 `json:"target_rows"`
	InitialSourceRows int64  `json:"initial_source_rows"`
	WaitedMS          int64  `json:"waited_ms"`
	// Status is match, mismatch, timeout or error.
	Status       string   `json:"status"`
	Detail       string   `json:"detail,omitempty"`
	Confirmation string   `json:"confirmation,omitempty"`
	Warnings     []string `json:"warnings"`
	Notes        []string `json:"notes"`
}

// WatermarkSummaryJSON counts tables by status; Verdict is match (exit 0),
// mismatch (exit 1) or unverified (exit 2, also when no table was checked).
type WatermarkSummaryJSON struct {
	Tables   int `json:"tables"`
	Match    int `json:"match"`
	Mismatch int `json:"mismatch"`
	Timeout  int `json:"timeout"`
	Error    int `json:"error"`
	Outcome
}

// WatermarkVerdict is match, mismatch (rows lost or added: exit 1) or
// unverified (a timeout or error and no mismatch: exit 2). A proven mismatch
// outranks a table that could not be verified.
func WatermarkVerdict(s watermark.Summary) string {
	switch {
	case s.Mismatch > 0:
		return "mismatch"
	case s.Timeout+s.Error > 0, s.Total == 0: // nothing checked proves nothing
		return "unverified"
	}
	return "match"
}

// WatermarkDocument converts a result to its JSON document.
func WatermarkDocument(r *watermark.Result) WatermarkJSON {
	s := r.Summary()
	doc := WatermarkJSON{
		Summary: WatermarkSummaryJSON{Tables: s.Total, Match: s.Match, Mismatch: s.Mismatch, Timeout: s.Timeout,
			Error: s.Error, Outcome: NewOutcome(WatermarkVerdict(s))},
		SourceLSN:    r.SourceLSN,
		TrackedSlots: watermarkStrings(r.Slots),
		TimeoutMS:    r.Timeout.Milliseconds(),
		Tables:       []WatermarkTableJSON{},
	}
	for _, t := range r.Tables {
		doc.Tables = append(doc.Tables, WatermarkTableJSON{
			Table: t.Table, Column: t.Column, Type: t.Type, Watermark: t.Watermark,
			SourceRows: t.SourceRows, TargetRows: t.TargetRows, InitialSourceRows: t.InitialSourceRows,
			WaitedMS: t.Waited.Milliseconds(), Status: string(t.Status), Detail: t.Detail,
			Confirmation: t.Confirmation, Warnings: watermarkStrings(t.Warnings), Notes: watermarkStrings(t.Notes),
		})
	}
	return doc
}

func watermarkStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Watermark renders a `pgverify watermark` result.
func Watermark(w io.Writer, f Format, r *watermark.Result) error {
	switch f {
	case JUnit:
		return WatermarkJUnit(w, r)
	case Markdown:
		return WatermarkMarkdown(w, r)
	}
	if f == JSON {
		return writeJSON(w, WatermarkDocument(r))
	}
	rows := make([][]any, 0, len(r.Tables))
	for _, t := range r.Tables {
		wm, tr := "-", "-"
		if t.Watermark != nil {
			wm = *t.Watermark
		}
		if t.TargetRows != nil {
			tr = fmt.Sprint(*t.TargetRows)
		}
		rows = append(rows, []any{t.Table, t.Column, wm, t.SourceRows, tr, watermarkDuration(t.Waited), string(t.Status)})
	}
	if err := Table(w, []any{"TABLE", "COLUMN", "WATERMARK", "SOURCE ROWS", "TARGET ROWS", "WAITED", "STATUS"}, rows); err != nil {
		return err
	}
	var b strings.Builder
	for _, t := range r.Tables {
		if t.Detail == "" && len(t.Warnings) == 0 && len(t.Notes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s (%s): %s", Clean(t.Table), Clean(t.Column), t.Status)
		if t.Detail != "" {
			b.WriteString(": " + Clean(t.Detail))
		}
		b.WriteString("\n")
		for _, x := range t.Warnings {
			fmt.Fprintf(&b, "  warning: %s\n", Clean(x))
		}
		for _, x := range t.Notes {
			fmt.Fprintf(&b, "  note: %s\n", Clean(x))
		}
	}
	b.WriteString("\n" + WatermarkVerdictLine(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WatermarkVerdictLine is the last line of the text report: the verdict,
// the source LSN and how catch-up was confirmed.
func WatermarkVerdictLine(r *watermark.Result) string {
	s := r.Summary()
	var verdict string
	switch WatermarkVerdict(s) {
	case "match":
		verdict = fmt.Sprintf("match: %d of %d table(s) hold the same rows at or below their watermark", s.Match, s.Total)
	case "mismatch":
		verdict = fmt.Sprintf("mismatch: %d of %d table(s) differ at or below their watermark", s.Mismatch, s.Total)
		if n := s.Timeout + s.Error; n > 0 {
			verdict += fmt.Sprintf(", %d could not be verified", n)
		}
	default:
		verdict = fmt.Sprintf("unverified: %d of %d table(s) could not be verified (%d timeout, %d error)", s.Timeout+s.Error, s.Total, s.Timeout, s.Error)
		if s.Total == 0 {
			verdict = "unverified: no tables selected"
		}
	}
	conf := "no replication slot visible: catch-up judged by stable counts"
	if len(r.Slots) > 0 {
		conf = "catch-up confirmed by slot " + Clean(strings.Join(r.Slots, ", "))
	}
	return fmt.Sprintf("%s (source LSN %s, %s)", verdict, Clean(r.SourceLSN), conf)
}

func watermarkDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// WatermarkProgress returns a progress callback that redraws one status line
// on w. Callers pass it only when w is a terminal; it is safe for
// concurrent use.
func WatermarkProgress(w io.Writer) func(watermark.Progress) {
	var mu sync.Mutex
	drawn := false
	return func(p watermark.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Phase == watermark.PhaseDone {
			if drawn {
				fmt.Fprint(w, "\r\033[K")
				drawn = false
			}
			return
		}
		what := "waiting for the target to reach " + p.Watermark
		if p.Phase == watermark.PhaseSettling {
			what = "counts differ, counting again"
		}
		fmt.Fprintf(w, "\r\033[K[%d/%d] %s (%s): %s (%s of %s)", p.Index, p.Total, Clean(p.Table), Clean(p.Column), what,
			p.Waited.Round(time.Second), p.Timeout.Round(time.Second))
		drawn = true
	}
}
