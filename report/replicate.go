package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pgverify/pgverify/replicate"
)

// ReplicateJSON is the JSON document of `pgverify replicate` (documented in
// docs/replicate.md; fields are only ever added).
type ReplicateJSON struct {
	Source    ReplicateServerJSON     `json:"source"`
	Target    ReplicateServerJSON     `json:"target"`
	Plan      bool                    `json:"plan"`
	Steps     []ReplicateStepJSON     `json:"steps"`
	Gates     []ReplicateGateJSON     `json:"gates"`
	Tables    []ReplicateTableJSON    `json:"tables"`
	Diagnosis *ReplicateDiagnosisJSON `json:"diagnosis"`
	// Plumbing lists the publication and subscription: replication
	// objects, not schema differences.
	Plumbing []string             `json:"plumbing"`
	Notes    []string             `json:"notes"`
	Summary  ReplicateSummaryJSON `json:"summary"`
}

// ReplicateServerJSON is one side.
type ReplicateServerJSON struct {
	Version  int    `json:"version"`
	Database string `json:"database"`
}

// ReplicateStepJSON is one step: status done, skipped (already there),
// failed or planned.
type ReplicateStepJSON struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Detail     string `json:"detail"`
	DurationMS int64  `json:"duration_ms"`
}

// ReplicateGateJSON is one gate: verdict pass, fail or error.
type ReplicateGateJSON struct {
	Name       string   `json:"name"`
	Verdict    string   `json:"verdict"`
	Summary    string   `json:"summary"`
	DurationMS int64    `json:"duration_ms"`
	Details    []string `json:"details"`
}

// ReplicateTableJSON is one table's initial sync.
type ReplicateTableJSON struct {
	Table        string `json:"table"`
	State        string `json:"state"`
	Ready        bool   `json:"ready"`
	AlreadyReady bool   `json:"already_ready"`
	RowsCopied   int64  `json:"rows_copied"`
	EstRows      int64  `json:"estimated_rows"`
	SyncedMS     int64  `json:"synced_ms"`
}

// ReplicateDiagnosisJSON says why a table does not sync.
type ReplicateDiagnosisJSON struct {
	Table    string `json:"table"`
	Cause    string `json:"cause"`
	Detail   string `json:"detail"`
	Fix      string `json:"fix"`
	Evidence string `json:"evidence,omitempty"`
}

// ReplicateSummaryJSON: verdict pass (exit 0), fail (exit 1) or planned
// (--plan, exit 0).
type ReplicateSummaryJSON struct {
	Verdict string `json:"verdict"`
	// ExitCode is the exit code that goes with the verdict (pass and
	// planned 0, fail 1), as in every report's summary.
	ExitCode   int   `json:"exit_code"`
	Gates      int   `json:"gates"`
	Passed     int   `json:"passed"`
	Failed     int   `json:"failed"`
	Errors     int   `json:"errors"`
	DurationMS int64 `json:"duration_ms"`
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ReplicateDocument converts a result to its JSON document.
func ReplicateDocument(r *replicate.Result) ReplicateJSON {
	doc := ReplicateJSON{
		Source:   ReplicateServerJSON{Version: r.Source.Version, Database: r.Source.Database},
		Target:   ReplicateServerJSON{Version: r.Target.Version, Database: r.Target.Database},
		Plan:     r.Plan,
		Steps:    []ReplicateStepJSON{},
		Gates:    []ReplicateGateJSON{},
		Tables:   []ReplicateTableJSON{},
		Plumbing: orEmpty(r.Plumbing),
		Notes:    orEmpty(r.Notes),
	}
	for _, s := range r.Steps {
		doc.Steps = append(doc.Steps, ReplicateStepJSON{Name: s.Name, Status: string(s.Status), Detail: s.Detail, DurationMS: s.Duration.Milliseconds()})
	}
	for _, g := range r.Gates {
		doc.Gates = append(doc.Gates, ReplicateGateJSON{Name: g.Name, Verdict: string(g.Verdict), Summary: g.Summary,
			DurationMS: g.Duration.Milliseconds(), Details: orEmpty(g.Details)})
		doc.Summary.Gates++
		switch g.Verdict {
		case replicate.Pass:
			doc.Summary.Passed++
		case replicate.Fail:
			doc.Summary.Failed++
		default:
			doc.Summary.Errors++
		}
	}
	for _, t := range r.Tables {
		doc.Tables = append(doc.Tables, ReplicateTableJSON{Table: t.Table, State: t.State, Ready: t.Done, AlreadyReady: t.AlreadyReady,
			RowsCopied: t.RowsCopied, EstRows: t.EstRows, SyncedMS: t.SyncedIn.Milliseconds()})
	}
	if d := r.Diagnosis; d != nil {
		doc.Diagnosis = &ReplicateDiagnosisJSON{Table: d.Table, Cause: d.Cause, Detail: d.Detail, Fix: d.Fix, Evidence: d.Evidence}
	}
	doc.Summary.Verdict = r.Verdict()
	doc.Summary.ExitCode = NewOutcome(doc.Summary.Verdict).ExitCode
	doc.Summary.DurationMS = r.Duration.Milliseconds()
	return doc
}

// Replicate renders a replicate result as text or JSON.
func Replicate(w io.Writer, f Format, r *replicate.Result) error {
	switch f {
	case JSON:
		return writeJSON(w, ReplicateDocument(r))
	case JUnit:
		return writeJUnit(w, replicateCI(r))
	case Markdown:
		return writeMarkdown(w, replicateCI(r))
	}
	return replicateText(w, r)
}

// replicateVerdictLine is the text report's last line.
func replicateVerdictLine(r *replicate.Result) string {
	passed := 0
	for _, g := range r.Gates {
		if g.Verdict == replicate.Pass {
			passed++
		}
	}
	return fmt.Sprintf("%s: %d of %d gate(s) passed (source %s, target %s, %s)", r.Verdict(), passed, len(r.Gates),
		versionString(r.Source.Version), versionString(r.Target.Version), roundDur(r.Duration))
}

// replicateCI: one case per step and per gate, and the diagnosis.
func replicateCI(r *replicate.Result) *ciReport {
	c := &ciReport{
		Command: "pgverify replicate", Class: "pgverify.replicate", Outcome: NewOutcome(r.Verdict()),
		Verdict: replicateVerdictLine(r), Lines: r.Notes, Time: r.Duration,
		Properties: [][2]string{{"source_version", versionString(r.Source.Version)}, {"target_version", versionString(r.Target.Version)},
			{"database", r.Target.Database}, {"plan", fmt.Sprint(r.Plan)}},
		Header: []string{"Kind", "Name", "Status", "Time", "What"},
	}
	if len(r.Plumbing) > 0 {
		c.Lines = append(append([]string(nil), c.Lines...), "replication objects (not schema differences): "+strings.Join(r.Plumbing, "; "))
	}
	for _, s := range r.Steps {
		k := ciCase{Name: "step " + s.Name, Class: "step", Time: s.Duration, Kind: string(s.Status), Status: ciPass}
		switch s.Status {
		case replicate.StepFailed:
			k.Status, k.Message = ciFail, s.Detail
		case replicate.StepPlanned:
			k.Status, k.Message = ciSkip, s.Detail
		}
		if k.Message == "" {
			k.Details = []string{s.Detail}
		}
		k.Cells = []string{"step", s.Name, stepLabel(s.Status), roundDur(s.Duration), s.Detail}
		c.Cases = append(c.Cases, k)
	}
	for _, g := range r.Gates {
		k := ciCase{Name: "gate " + g.Name, Class: "gate", Time: g.Duration, Kind: string(g.Verdict), Details: g.Details}
		switch g.Verdict {
		case replicate.Pass:
			k.Status = ciPass
		case replicate.Fail:
			k.Status, k.Message = ciFail, g.Summary
		default:
			k.Status, k.Message = ciError, g.Summary
		}
		k.Cells = []string{"gate", g.Name, string(g.Verdict), roundDur(g.Duration), g.Summary}
		c.Cases = append(c.Cases, k)
	}
	if d := r.Diagnosis; d != nil {
		k := ciCase{Name: "initial sync of " + d.Table, Class: "diagnosis", Kind: d.Cause, Status: ciFail,
			Message: d.Table + " does not sync: " + d.Cause, Details: []string{d.Detail, "fix: " + d.Fix}}
		if d.Evidence != "" {
			k.Details = append(k.Details, "evidence: "+d.Evidence)
		}
		k.Cells = []string{"diagnosis", d.Table, "fail", "", d.Cause + ": " + d.Detail + "; fix: " + d.Fix}
		c.Cases = append(c.Cases, k)
	}
	return c
}

func stepLabel(s replicate.StepStatus) string {
	if s == replicate.StepSkipped {
		return "skipped (already there)"
	}
	return string(s)
}

func replicateText(w io.Writer, r *replicate.Result) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, " STEP\tSTATUS\tTIME\tWHAT")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, " %s\t%s\t%s\t%s\n", s.Name, stepLabel(s.Status), roundDur(s.Duration), s.Detail)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, " GATE\tVERDICT\tTIME\tSUMMARY")
	for _, g := range r.Gates {
		fmt.Fprintf(tw, " %s\t%s\t%s\t%s\n", g.Name, g.Verdict, roundDur(g.Duration), g.Summary)
	}
	tw.Flush()
	for _, g := range r.Gates {
		if g.Verdict == replicate.Pass || len(g.Details) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s: %s\n", g.Name, g.Verdict)
		for _, d := range g.Details {
			fmt.Fprintf(&b, "  %s\n", d)
		}
	}
	if d := r.Diagnosis; d != nil {
		fmt.Fprintf(&b, "\ndiagnosis: %s does not sync: %s\n  %s\n  fix: %s\n", d.Table, d.Cause, d.Detail, d.Fix)
		if d.Evidence != "" {
			fmt.Fprintf(&b, "  evidence: %s\n", d.Evidence)
		}
	}
	if len(r.Plumbing) > 0 {
		fmt.Fprintf(&b, "\nreplication objects (not schema differences): %s\n", strings.Join(r.Plumbing, "; "))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "\n%s\n", replicateVerdictLine(r))
	_, err := io.WriteString(w, b.String())
	return err
}

func versionString(v int) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%d.%d", v/10000, v%10000)
}

func roundDur(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// ReplicateProgress draws the initial sync: on a terminal one live line
// with tables ready, rows copied, rows/s and ETA; otherwise one line per
// table as it finishes.
func ReplicateProgress(w io.Writer, tty bool) replicate.Progress {
	return &replicateProgress{w: w, tty: tty, printed: map[string]bool{}}
}

type replicateProgress struct {
	w       io.Writer
	tty     bool
	printed map[string]bool
	drawn   bool
}

// Finish ends a live line left open (the sync stopped before every table
// was ready).
func (p *replicateProgress) Finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func (p *replicateProgress) Sync(s replicate.SyncSnapshot) {
	if !p.tty {
		for _, t := range s.Tables {
			if t.Done && !p.printed[t.Table] {
				p.printed[t.Table] = true
				if t.AlreadyReady {
					fmt.Fprintf(p.w, "sync: %s already ready\n", t.Table)
				} else {
					fmt.Fprintf(p.w, "sync: %s ready (%d rows, %s)\n", t.Table, max(t.EstRows, t.RowsCopied), roundDur(t.SyncedIn))
				}
			}
		}
		return
	}
	line := fmt.Sprintf("sync: %d/%d tables ready, %d rows copied", s.Ready, len(s.Tables), s.RowsCopied)
	if secs := s.Elapsed.Seconds(); secs > 1 && s.RowsCopied > 0 {
		rate := float64(s.RowsCopied) / secs
		line += fmt.Sprintf(", %.0f rows/s", rate)
		if s.EstRows > s.RowsCopied {
			line += ", ETA " + roundDur(time.Duration(float64(s.EstRows-s.RowsCopied)/rate*float64(time.Second)))
		}
	}
	if s.SyncErrors > 0 {
		line += fmt.Sprintf(", %d failed sync attempt(s)", s.SyncErrors)
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
	if s.Ready == len(s.Tables) {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
