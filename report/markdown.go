package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/pgverify/pgverify/checksum"
	"github.com/pgverify/pgverify/preflight"
	"github.com/pgverify/pgverify/sampler"
	"github.com/pgverify/pgverify/schema/diff"
	"github.com/pgverify/pgverify/schema/lint"
	"github.com/pgverify/pgverify/sequences"
	"github.com/pgverify/pgverify/watermark"
)

// --format markdown: GitHub-flavoured Markdown for $GITHUB_STEP_SUMMARY, a
// pull-request comment or a GitLab note: a heading with the verdict, the
// verdict line, a table with one row per table, sequence, difference or
// finding, then the differences of each failing or unverified case. Text
// from the database is escaped (Clean, then Markdown and HTML
// punctuation), so a name can neither format the comment nor inject HTML.

// MarkdownShowDetails is how many lines of differences per case the
// Markdown report lists (a step summary is limited to 1 MiB); JUnit and
// JSON list all.
const MarkdownShowDetails = 20

var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`,
	"~", `\~`, "#", `\#`, "<", "&lt;", ">", "&gt;", "&", "&amp;",
)

// mdEscape makes s safe inside a Markdown paragraph, list item or table cell.
func mdEscape(s string) string { return mdReplacer.Replace(Clean(s)) }

// mdLongestRun is the length of the longest run of c in s.
func mdLongestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

func mdIcon(verdict string) string {
	switch NewOutcome(verdict).ExitCode {
	case ExitVerified:
		return "✅"
	case ExitFindings:
		return "❌"
	}
	return "⚠️"
}

func mdCaseIcon(s ciStatus) string {
	switch s {
	case ciFail:
		return "❌"
	case ciError:
		return "⚠️"
	case ciSkip:
		return "⏭️"
	}
	return "✅"
}

// writeMarkdown renders r as Markdown.
func writeMarkdown(w io.Writer, r *ciReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s %s: %s\n\n", mdIcon(r.Outcome.Verdict), r.Command, r.Outcome.Verdict)
	fmt.Fprintf(&b, "%s\n", mdEscape(r.Verdict))
	for _, l := range r.Lines {
		fmt.Fprintf(&b, "\n%s\n", mdEscape(l))
	}
	// Each row's first cell carries its case's icon; Rows (one per
	// difference, where cases group them) carry none.
	rows, icons := r.Rows, []string(nil)
	if rows == nil {
		for _, c := range r.Cases {
			if c.Cells != nil {
				rows = append(rows, c.Cells)
				icons = append(icons, mdCaseIcon(c.Status)+" ")
			}
		}
	}
	if len(rows) > 0 {
		b.WriteString("\n|")
		for _, h := range r.Header {
			fmt.Fprintf(&b, " %s |", h)
		}
		b.WriteString("\n|")
		for range r.Header {
			b.WriteString(" --- |")
		}
		b.WriteString("\n")
		for i, row := range rows {
			b.WriteString("|")
			for j, cell := range row {
				cell = mdEscape(cell)
				if j == 0 && icons != nil {
					cell = icons[i] + cell
				}
				fmt.Fprintf(&b, " %s |", cell)
			}
			b.WriteString("\n")
		}
	}
	for _, c := range r.Cases {
		if c.Status == ciPass || (c.Message == "" && len(c.Details) == 0) {
			continue
		}
		head := mdEscape(c.Name)
		if c.Message != "" {
			head += ": " + mdEscape(c.Message)
		}
		fmt.Fprintf(&b, "\n%s **%s**\n", mdCaseIcon(c.Status), head)
		if len(c.Details) == 0 {
			continue
		}
		// The differences as plain text in a fence longer than any run of
		// backticks in them: nothing inside is Markdown or HTML.
		lines := c.Details
		more := len(lines) - MarkdownShowDetails
		if more > 0 {
			lines = lines[:MarkdownShowDetails]
		}
		text := junitLines(lines)
		fence := strings.Repeat("`", max(3, mdLongestRun(text, '`')+1))
		fmt.Fprintf(&b, "\n%stext\n%s%s\n", fence, text, fence)
		if more > 0 {
			fmt.Fprintf(&b, "\n… %d more line(s) (use --format json or junit for all)\n", more)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TablesMarkdown writes a `pgverify tables` result as Markdown.
func TablesMarkdown(w io.Writer, res *checksum.Result) error { return writeMarkdown(w, tablesCI(res)) }

// SampleMarkdown writes a `pgverify sample` result as Markdown.
func SampleMarkdown(w io.Writer, res *sampler.Result) error { return writeMarkdown(w, sampleCI(res)) }

// WatermarkMarkdown writes a `pgverify watermark` result as Markdown.
func WatermarkMarkdown(w io.Writer, res *watermark.Result) error {
	return writeMarkdown(w, watermarkCI(res))
}

// SequencesMarkdown writes a `pgverify sequences` result as Markdown.
func SequencesMarkdown(w io.Writer, res *sequences.Result) error {
	return writeMarkdown(w, sequencesCI(res))
}

// SchemaDiffMarkdown writes a `pgverify schema diff` result as Markdown.
func SchemaDiffMarkdown(w io.Writer, res *diff.Result) error {
	return writeMarkdown(w, schemaDiffCI(res))
}

// LintMarkdown writes `schema lint` findings as Markdown (strict: --strict).
func LintMarkdown(w io.Writer, res *lint.Result, strict bool) error {
	return writeMarkdown(w, lintCI(res, strict))
}

// PreflightMarkdown writes a preflight result as Markdown.
func PreflightMarkdown(w io.Writer, res *preflight.Result) error {
	return writeMarkdown(w, preflightCI(res))
}
