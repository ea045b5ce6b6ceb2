package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/pgverify/pgverify/checksum"
	"github.com/pgverify/pgverify/preflight"
	"github.com/pgverify/pgverify/sampler"
	"github.com/pgverify/pgverify/schema/diff"
	"github.com/pgverify/pgverify/schema/lint"
	"github.com/pgverify/pgverify/sequences"
	"github.com/pgverify/pgverify/watermark"
)

// The CI formats (--format junit, --format markdown) render one shape,
// ciReport, that each command's adapter below fills from its result: one
// case per table, sequence, difference or finding, each passing, failing
// (a difference or a finding that fails the run), an error (could not
// verify) or skipped. Strings are as the database wrote them; the
// renderers escape them (Clean, then XML or Markdown).

// ciStatus is how one case ended.
type ciStatus int

const (
	ciPass ciStatus = iota
	ciFail
	ciError
	ciSkip
)

// ciReport is one command's result for CI.
type ciReport struct {
	Command string // "pgverify tables"
	Class   string // JUnit classname prefix: "pgverify.tables"
	Outcome Outcome
	// Verdict is the text report's last line.
	Verdict string
	// Lines follow the verdict (notes about the whole run).
	Lines []string
	// Properties describe the run (versions, LSN), in order.
	Properties [][2]string
	// Header names the Markdown table's columns; each case has Cells, or
	// Rows replaces them (one row per difference where cases group them).
	Header []string
	Rows   [][]string
	Cases  []ciCase
	// Time is the run's wall time, when known.
	Time time.Duration
}

// ciCase is one table, sequence, difference or finding.
type ciCase struct {
	Name   string
	Class  string // appended to ciReport.Class with a dot when set
	Time   time.Duration
	Status ciStatus
	// Kind is the JUnit failure or error type: a status or severity word.
	Kind string
	// Message is one line: what failed, or why it could not be verified.
	Message string
	// Details are the differences (rows, columns, remedy), one a line.
	Details []string
	Cells   []string
}

func (c ciCase) class(r *ciReport) string {
	if c.Class == "" {
		return r.Class
	}
	return r.Class + "." + c.Class
}

func ciDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// tablesCI: one case per table.
func tablesCI(res *checksum.Result) *ciReport {
	s := res.Summary
	r := &ciReport{
		Command: "pgverify tables", Class: "pgverify.tables", Outcome: NewOutcome(s.Verdict),
		Verdict: TablesVerdictLine(s), Time: ciDuration(s.DurationMS),
		Properties: [][2]string{{"source_version", s.SourceVersion}, {"target_version", s.TargetVersion}, {"snapshot_lsn", s.SnapshotLSN}},
		Header:     []string{"Table", "Status", "Rows source", "Rows target", "Differences", "Time"},
	}
	if s.Replication != "" {
		r.Properties = append(r.Properties, [2]string{"replication", s.Replication})
	}
	if s.Shard != "" {
		// N shard reports side by side (a CI matrix) stay apart.
		r.Command += " --shard " + s.Shard
		r.Properties = append(r.Properties, [2]string{"shard", s.Shard})
	}
	if s.FromState > 0 {
		r.Properties = append(r.Properties, [2]string{"from_state", fmt.Sprint(s.FromState)})
	}
	for _, t := range res.Tables {
		c := ciCase{Name: t.Table, Time: ciDuration(t.DurationMS), Kind: string(t.Status)}
		n := fmt.Sprint(len(t.Differences))
		if t.DifferencesTruncated {
			n = "more than " + n
		}
		switch t.Status {
		case checksum.StatusMatch:
			c.Status = ciPass
		case checksum.StatusError:
			c.Status, c.Message = ciError, "could not verify: "+t.Error
		case checksum.StatusMissingOnTarget:
			c.Status, c.Message = ciFail, "table exists on the source only"
		case checksum.StatusMissingOnSource:
			c.Status, c.Message = ciFail, "table exists on the target only"
		default:
			c.Status = ciFail
			c.Message = fmt.Sprintf("%s, %s difference(s)", t.Status, n)
			if t.Rechecks > 0 {
				c.Message += fmt.Sprintf(" after %d re-check(s)", t.Rechecks)
			}
		}
		for _, d := range t.Differences {
			l := fmt.Sprintf("%s %s", d.Kind, d.Key.String())
			if len(d.Columns) > 0 {
				l += "  columns: " + strings.Join(d.Columns, ", ")
			}
			c.Details = append(c.Details, l)
		}
		if t.DifferencesTruncated {
			c.Details = append(c.Details, fmt.Sprintf("... more rows differ than --max-diffs (%d) lists", len(t.Differences)))
		}
		for _, n := range t.Notes {
			c.Details = append(c.Details, "note: "+n)
		}
		diffs := fmt.Sprint(len(t.Differences))
		if t.DifferencesTruncated {
			diffs += "+"
		}
		c.Cells = []string{t.Table, string(t.Status), fmt.Sprint(t.RowsSource), fmt.Sprint(t.RowsTarget), diffs, ciDuration(t.DurationMS).String()}
		r.Cases = append(r.Cases, c)
	}
	return r
}

// sampleCI: one case per table.
func sampleCI(res *sampler.Result) *ciReport {
	r := &ciReport{
		Command: "pgverify sample", Class: "pgverify.sample", Outcome: NewOutcome(SampleVerdict(res)),
		Verdict: SampleStatement(res),
		Properties: [][2]string{{"method", string(res.Method)}, {"seed", fmt.Sprint(res.Seed)},
			{"confidence", samplePercentExact(res.Confidence)}},
		Header: []string{"Table", "Method", "Sampled", "Differ", "Upper bound", "Status"},
	}
	if s := res.Summary; s.Skipped > 0 {
		r.Lines = append(r.Lines, fmt.Sprintf("%s skipped (not verified)", sampleTables(s.Skipped)))
	}
	if s := res.Summary; s.Errors > 0 {
		r.Lines = append(r.Lines, fmt.Sprintf("%s could not be sampled", sampleTables(s.Errors)))
	}
	for _, t := range res.Tables {
		c := ciCase{Name: t.Table, Time: ciDuration(t.ElapsedMS), Kind: t.Status}
		switch t.Status {
		case sampler.StatusOK:
			c.Status = ciPass
		case sampler.StatusDiffer:
			c.Status = ciFail
			c.Message = fmt.Sprintf("%s of %s sampled rows differ", SampleCount(t.Differing), SampleCount(t.Sampled))
		case sampler.StatusSkipped:
			c.Status, c.Message = ciSkip, t.Reason
		default:
			c.Status, c.Message = ciError, "could not sample: "+t.Reason
		}
		for _, d := range t.Differences {
			kv := make([]string, len(d.Key))
			for i, v := range d.Key {
				name := "?"
				if i < len(t.KeyColumns) {
					name = t.KeyColumns[i]
				}
				kv[i] = name + "=" + v
			}
			l := d.Kind + " " + strings.Join(kv, ", ")
			if len(d.Columns) > 0 {
				l += "  columns: " + strings.Join(d.Columns, ", ")
			}
			c.Details = append(c.Details, l)
		}
		if n := t.Differing - int64(len(t.Differences)); n > 0 {
			c.Details = append(c.Details, fmt.Sprintf("... and %s more", SampleCount(n)))
		}
		for _, n := range t.Notes {
			c.Details = append(c.Details, "note: "+n)
		}
		status := t.Status
		if t.Reason != "" {
			status += ": " + t.Reason
		}
		if t.Status == sampler.StatusOK || t.Status == sampler.StatusDiffer {
			c.Cells = []string{t.Table, sampleMethod(t), SampleCount(t.Sampled), SampleCount(t.Differing), sampleBound(t), status}
		} else {
			c.Cells = []string{t.Table, "-", "-", "-", "-", status}
		}
		r.Cases = append(r.Cases, c)
	}
	return r
}

// watermarkCI: one case per table and column.
func watermarkCI(res *watermark.Result) *ciReport {
	s := res.Summary()
	r := &ciReport{
		Command: "pgverify watermark", Class: "pgverify.watermark", Outcome: NewOutcome(WatermarkVerdict(s)),
		Verdict:    WatermarkVerdictLine(res),
		Properties: [][2]string{{"source_lsn", res.SourceLSN}, {"tracked_slots", strings.Join(res.Slots, ",")}},
		Header:     []string{"Table", "Column", "Watermark", "Source rows", "Target rows", "Status"},
	}
	for _, t := range res.Tables {
		c := ciCase{Name: t.Table + " (" + t.Column + ")", Time: t.Waited, Kind: string(t.Status)}
		switch t.Status {
		case watermark.Match:
			c.Status = ciPass
		case watermark.Mismatch:
			c.Status, c.Message = ciFail, t.Detail
		default:
			c.Status, c.Message = ciError, t.Detail
		}
		if c.Message == "" && c.Status != ciPass {
			c.Message = string(t.Status)
		}
		for _, x := range t.Warnings {
			c.Details = append(c.Details, "warning: "+x)
		}
		for _, x := range t.Notes {
			c.Details = append(c.Details, "note: "+x)
		}
		wm, tr := "-", "-"
		if t.Watermark != nil {
			wm = *t.Watermark
		}
		if t.TargetRows != nil {
			tr = fmt.Sprint(*t.TargetRows)
		}
		c.Cells = []string{t.Table, t.Column, wm, fmt.Sprint(t.SourceRows), tr, string(t.Status)}
		r.Cases = append(r.Cases, c)
	}
	return r
}

// sequencesCI: one case per sequence.
func sequencesCI(res *sequences.Result) *ciReport {
	doc := SequencesDocument(res)
	r := &ciReport{
		Command: "pgverify sequences", Class: "pgverify.sequences", Outcome: doc.Summary.Outcome,
		Verdict:    SequencesVerdictLine(res),
		Properties: [][2]string{{"margin", fmt.Sprint(res.Margin)}, {"sync", fmt.Sprint(res.SyncRan)}},
		Header:     []string{"Sequence", "Source last", "Target last", "Required next", "Status"},
	}
	for i := range res.Sequences {
		q := &res.Sequences[i]
		it := doc.Sequences[i]
		c := ciCase{Name: q.Display, Kind: string(q.Status)}
		switch q.Status {
		case sequences.Safe:
			c.Status = ciPass
		case sequences.Synced:
			c.Status = ciPass
			c.Details = append(c.Details, fmt.Sprintf("moved by --sync to %d", q.After.LastValue))
		case sequences.Unsafe, sequences.MissingOnTarget:
			c.Status, c.Message = ciFail, q.Detail
		default:
			c.Status, c.Message = ciError, q.Detail
		}
		if c.Message == "" && c.Status != ciPass {
			c.Message = string(q.Status)
		}
		for _, n := range q.Notes {
			c.Details = append(c.Details, "note: "+n)
		}
		val := func(v *SequencesValueJSON) string {
			if v == nil {
				return "-"
			}
			return fmt.Sprint(v.LastValue)
		}
		req := "-"
		if it.RequiredNext != nil {
			req = ">= " + it.RequiredNext.String()
			if it.Descending {
				req = "<= " + it.RequiredNext.String()
			}
		}
		c.Cells = []string{q.Display, val(it.Source), val(it.Target), req, string(q.Status)}
		r.Cases = append(r.Cases, c)
	}
	return r
}

// schemaDiffCI: one case per differing object (failing when a difference
// is an error, passing with the notices otherwise); with no difference,
// one passing case per object type compared.
func schemaDiffCI(res *diff.Result) *ciReport {
	r := &ciReport{
		Command: "pgverify schema diff", Class: "pgverify.schema.diff", Outcome: NewOutcome(SchemaDiffVerdict(res)),
		Verdict:    SchemaDiffVerdictLine(res),
		Properties: [][2]string{{"source_version", res.Source.Version}, {"target_version", res.Target.Version}, {"privileges", fmt.Sprint(res.Privileges)}},
		Header:     []string{"Object", "Difference", "Severity", "Source", "Target"},
		Lines:      append([]string{}, res.Notes...),
	}
	if len(res.NotCompared) > 0 {
		r.Lines = append(r.Lines, "not compared: "+strings.Join(res.NotCompared, ", ")+".")
	}
	index := map[string]int{}
	short := func(v *string) string {
		if v == nil {
			return "(none)"
		}
		l, rest, more := strings.Cut(strings.TrimRight(*v, "\n"), "\n")
		if more && rest != "" {
			l += " ..."
		}
		return l
	}
	for _, d := range res.Differences {
		name := d.ObjectType + " " + d.Object
		i, ok := index[name]
		if !ok {
			i = len(r.Cases)
			index[name] = i
			r.Cases = append(r.Cases, ciCase{Name: name, Class: d.ObjectType, Status: ciPass, Kind: "notice"})
		}
		c := &r.Cases[i]
		var what string
		switch d.Kind {
		case diff.Missing:
			what = "missing on target"
		case diff.Extra:
			what = "extra on target"
		default:
			what = d.Attribute + " changed"
		}
		if d.Severity == diff.SeverityError {
			if c.Status != ciFail {
				c.Status, c.Kind, c.Message = ciFail, string(d.Severity), what
			} else {
				c.Message += "; " + what
			}
		}
		line := what
		if d.Severity == diff.SeverityNotice {
			line += " [notice]"
		}
		c.Details = append(c.Details, line)
		for _, side := range []struct {
			name string
			v    *string
		}{{"source", d.Source}, {"target", d.Target}} {
			if (d.Kind == diff.Missing && side.name == "target") || (d.Kind == diff.Extra && side.name == "source") {
				continue
			}
			if side.v == nil {
				c.Details = append(c.Details, "  "+side.name+": (none)")
				continue
			}
			lines := strings.Split(strings.TrimRight(*side.v, "\n"), "\n")
			if len(lines) == 1 {
				c.Details = append(c.Details, "  "+side.name+": "+lines[0])
				continue
			}
			c.Details = append(c.Details, "  "+side.name+":")
			for _, l := range lines {
				c.Details = append(c.Details, "    | "+l)
			}
		}
	}
	if len(res.Differences) == 0 {
		r.Header = []string{"Object type", "Source", "Target"}
		for _, t := range res.Compared {
			r.Cases = append(r.Cases, ciCase{Name: t.ObjectType, Class: t.ObjectType, Status: ciPass,
				Cells: []string{t.ObjectType, fmt.Sprint(t.Source), fmt.Sprint(t.Target)}})
		}
		return r
	}
	// The Markdown table lists every difference; cases keep them grouped.
	r.Rows = make([][]string, 0, len(res.Differences))
	for _, d := range res.Differences {
		what := string(d.Kind)
		if d.Kind == diff.Changed {
			what = d.Attribute + " changed"
		}
		r.Rows = append(r.Rows, []string{d.ObjectType + " " + d.Object, what, string(d.Severity), short(d.Source), short(d.Target)})
	}
	return r
}

// lintCI: one case per finding; errors (and warnings with --strict) fail.
func lintCI(res *lint.Result, strict bool) *ciReport {
	r := &ciReport{
		Command: "pgverify schema lint", Class: "pgverify.schema.lint", Outcome: NewOutcome(LintVerdict(res, strict)),
		Verdict:    LintSummary(res),
		Properties: [][2]string{{"mode", res.Mode}, {"inputs", strings.Join(res.Inputs, ",")}, {"pg_version", fmt.Sprint(res.PGVersion)}},
		Header:     []string{"Location", "Code", "Severity", "Message"},
	}
	for _, f := range res.Findings {
		c := ciCase{Name: f.Code + " " + LintLocation(f), Class: f.Code, Kind: string(f.Severity), Message: f.Message, Status: ciPass}
		if f.Severity == lint.Error || (strict && f.Severity == lint.Warning) {
			c.Status = ciFail
		}
		if f.Object != "" {
			c.Details = append(c.Details, "object: "+f.Object)
		}
		if len(f.Chain) > 0 {
			c.Details = append(c.Details, "via: "+strings.Join(f.Chain, " → "))
		}
		if f.Remediation != "" {
			c.Details = append(c.Details, "remedy: "+f.Remediation)
		}
		if f.Fix != "" {
			c.Details = append(c.Details, "fix: "+f.Fix)
		}
		c.Cells = []string{LintLocation(f), f.Code, string(f.Severity), f.Message}
		r.Cases = append(r.Cases, c)
	}
	if len(res.Findings) == 0 {
		r.Cases = append(r.Cases, ciCase{Name: "no findings", Status: ciPass})
	}
	return r
}

// preflightCI: one case per finding; blockers and critical findings fail.
func preflightCI(res *preflight.Result) *ciReport {
	r := &ciReport{
		Command: "pgverify preflight", Class: "pgverify.preflight", Outcome: NewOutcome(PreflightVerdict(res)),
		Verdict:    PreflightVerdictLine(res),
		Properties: [][2]string{{"source_version", res.Source.Version}},
		Header:     []string{"Severity", "Code", "Side", "Title", "Objects"},
	}
	if res.Target != nil {
		r.Properties = append(r.Properties, [2]string{"target_version", res.Target.Version})
	}
	if len(res.Ignored) > 0 {
		r.Lines = append(r.Lines, "ignored: "+strings.Join(res.Ignored, ", "))
	}
	for _, f := range res.Findings {
		c := ciCase{Name: f.Code + " " + f.Title, Class: f.Code, Kind: f.Severity.String(), Message: f.Title, Status: ciPass}
		if f.Severity == preflight.Blocker || f.Severity == preflight.Critical {
			c.Status = ciFail
		}
		c.Details = append(c.Details, "side: "+f.Side)
		if len(f.Objects) > 0 {
			c.Details = append(c.Details, "objects: "+preflightObjects(f.Objects, preflightDetailObjects))
		}
		if f.Detail != "" {
			c.Details = append(c.Details, strings.Split(f.Detail, "\n")...)
		}
		if f.Remedy != "" {
			c.Details = append(c.Details, "remedy: "+f.Remedy)
		}
		c.Cells = []string{f.Severity.String(), f.Code, f.Side, f.Title, preflightObjects(f.Objects, preflightTableObjects)}
		r.Cases = append(r.Cases, c)
	}
	if len(res.Findings) == 0 {
		r.Cases = append(r.Cases, ciCase{Name: "no findings", Status: ciPass})
	}
	return r
}
