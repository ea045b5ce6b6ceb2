package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/pgverify/pgverify/sampler"
)

// SampleJSON writes the sample result as documented in docs/sample.md.
// Sample renders a sample result in format f.
func Sample(w io.Writer, f Format, r *sampler.Result) error {
	switch f {
	case JUnit:
		return SampleJUnit(w, r)
	case Markdown:
		return SampleMarkdown(w, r)
	}
	if f == JSON {
		return SampleJSON(w, r)
	}
	return SampleText(w, r)
}

func SampleJSON(w io.Writer, r *sampler.Result) error {
	return writeJSONWithSummary(w, r, sampleSummary{r.Summary, NewOutcome(SampleVerdict(r))})
}

type sampleSummary struct {
	sampler.Summary
	Outcome
}

// SampleVerdict is different (a sampled row differs: exit 1), unverified (a
// table could not be sampled, or no row was: exit 2) or equal.
func SampleVerdict(r *sampler.Result) string {
	switch s := r.Summary; {
	case r.HasDifferences():
		return "different"
	case r.Incomplete(), s.Tables == 0, s.Sampled == 0:
		return "unverified"
	}
	return "equal"
}

// SampleText writes one line per table, the differing rows, and what the
// sample proves.
func SampleText(w io.Writer, r *sampler.Result) error {
	size := fmt.Sprintf("%s rows per table", SampleCount(r.Rows))
	if r.Percent > 0 {
		size = fmt.Sprintf("%s%% of each table", strconv.FormatFloat(r.Percent, 'g', -1, 64))
	}
	if _, err := fmt.Fprintf(w, "pgverify sample: %s sampling, seed %d, %s, %s confidence\n\n",
		r.Method, r.Seed, size, samplePercentExact(r.Confidence)); err != nil {
		return err
	}
	if len(r.Tables) > 0 {
		rows := make([][]any, 0, len(r.Tables))
		for _, t := range r.Tables {
			status := t.Status
			if t.Reason != "" {
				status += ": " + t.Reason
			}
			if t.Status == sampler.StatusOK || t.Status == sampler.StatusDiffer {
				rows = append(rows, []any{t.Table, sampleMethod(t), SampleCount(t.Sampled), SampleCount(t.Differing), sampleBound(t), status})
			} else {
				rows = append(rows, []any{t.Table, "-", "-", "-", "-", status})
			}
		}
		if err := Table(w, []any{"TABLE", "METHOD", "SAMPLED", "DIFFER", "UPPER BOUND", "STATUS"}, rows); err != nil {
			return err
		}
	}
	var diffs [][]any
	for _, t := range r.Tables {
		for _, d := range t.Differences {
			kv := make([]string, len(d.Key))
			for i, v := range d.Key {
				name := "?"
				if i < len(t.KeyColumns) {
					name = t.KeyColumns[i]
				}
				kv[i] = name + "=" + v
			}
			diffs = append(diffs, []any{t.Table, strings.Join(kv, ", "), d.Kind, strings.Join(d.Columns, ", ")})
		}
		if n := t.Differing - int64(len(t.Differences)); n > 0 {
			diffs = append(diffs, []any{t.Table, fmt.Sprintf("... and %s more", SampleCount(n)), "", ""})
		}
	}
	if len(diffs) > 0 {
		if _, err := fmt.Fprintln(w, "\ndiffering rows:"); err != nil {
			return err
		}
		if err := Table(w, []any{"TABLE", "KEY", "KIND", "COLUMNS"}, diffs); err != nil {
			return err
		}
	}
	var b strings.Builder
	b.WriteString("\n" + SampleStatement(r) + "\n")
	s := r.Summary
	if s.Skipped > 0 {
		fmt.Fprintf(&b, "%s skipped (not verified): see STATUS\n", sampleTables(s.Skipped))
	}
	if s.Errors > 0 {
		fmt.Fprintf(&b, "%s could not be sampled: see STATUS\n", sampleTables(s.Errors))
	}
	if rep := r.Replication; rep != nil {
		fmt.Fprintf(&b, "live replication: subscription %s (slot %s); ", Clean(strings.Join(rep.Subscriptions, ", ")), Clean(strings.Join(rep.Slots, ", ")))
		switch {
		case rep.Rounds == 0 && s.Differing > 0:
			b.WriteString("differing rows were not re-checked (--rechecks 0)\n")
		case rep.Rounds == 0:
			b.WriteString("no row needed a re-check\n")
		case rep.CaughtUp:
			fmt.Fprintf(&b, "differing rows re-checked after catch-up (%s)\n", sampleRounds(rep.Rounds))
		default:
			fmt.Fprintf(&b, "differing rows re-checked (%s), but the subscriber did not catch up in time\n", sampleRounds(rep.Rounds))
		}
	}
	size = fmt.Sprintf("--rows %d", r.Rows)
	if r.Percent > 0 {
		size = "--percent " + strconv.FormatFloat(r.Percent, 'g', -1, 64)
	}
	fmt.Fprintf(&b, "repeat this sample with: --method %s --seed %d %s (same rows while the tables' physical layout is unchanged)\n",
		r.Method, r.Seed, size)
	_, err := io.WriteString(w, b.String())
	return err
}

// SampleStatement is the one sentence a run proves, e.g. "0 of 10,000
// sampled rows differ: with 95% confidence fewer than 0.03% of rows differ".
func SampleStatement(r *sampler.Result) string {
	s := r.Summary
	census := true
	sampledTables := 0
	for _, t := range r.Tables {
		if t.UpperBound != nil {
			sampledTables++
			census = census && t.BoundExact
		}
	}
	if sampledTables == 0 {
		return "no rows sampled"
	}
	what := fmt.Sprintf("%s of %s sampled rows", SampleCount(s.Differing), SampleCount(s.Sampled))
	if sampledTables > 1 {
		what += fmt.Sprintf(" in %d tables", sampledTables)
	}
	verb := " differ"
	if s.Differing == 1 {
		verb = " differs"
	}
	if census {
		return fmt.Sprintf("%s of %s rows%s (every row compared)", SampleCount(s.Differing), SampleCount(s.Sampled), verb)
	}
	rowsOf := "of rows"
	if sampledTables > 1 {
		rowsOf = "of the rows of each table"
	}
	out := fmt.Sprintf("%s%s: with %s confidence fewer than %s %s differ", what, verb,
		samplePercentExact(r.Confidence), SamplePercent(*s.UpperBound), rowsOf)
	if s.BoundApproximate {
		out += " (approximate: SYSTEM sampling draws whole blocks, not independent rows)"
	}
	return out
}

func sampleMethod(t sampler.TableResult) string {
	if t.Method == sampler.All || t.Percent == 0 {
		return string(t.Method)
	}
	return fmt.Sprintf("%s %s%%", t.Method, strconv.FormatFloat(t.Percent, 'g', 3, 64))
}

func sampleBound(t sampler.TableResult) string {
	switch {
	case t.UpperBound == nil:
		return "-"
	case t.BoundExact:
		return SamplePercent(*t.UpperBound) + " (all rows)"
	case t.BoundApproximate:
		return "< " + SamplePercent(*t.UpperBound) + " (approx.)"
	}
	return "< " + SamplePercent(*t.UpperBound)
}

func sampleRounds(n int) string {
	if n == 1 {
		return "1 round"
	}
	return fmt.Sprintf("%d rounds", n)
}

func sampleTables(n int) string {
	if n == 1 {
		return "1 table"
	}
	return fmt.Sprintf("%d tables", n)
}

// SamplePercent prints a fraction as a percentage with two significant
// digits, rounded up: a bound must never read smaller than it is.
func SamplePercent(f float64) string {
	v := f * 100
	if v <= 0 {
		return "0%"
	}
	if v >= 100 {
		return "100%"
	}
	e := math.Floor(math.Log10(v))
	scale := math.Pow(10, e-1)
	r := math.Ceil(v/scale-1e-9) * scale
	decimals := int(math.Max(0, -(e - 1)))
	s := strconv.FormatFloat(r, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + "%"
}

// samplePercentExact prints a confidence such as 0.95 as "95%".
func samplePercentExact(f float64) string {
	return strconv.FormatFloat(math.Round(f*1e6)/1e4, 'g', -1, 64) + "%"
}

// SampleCount prints an integer with thousands separators: 10,000.
func SampleCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
