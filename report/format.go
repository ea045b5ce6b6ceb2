package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Format is an output format; it implements pflag.Value through FormatValue.
type Format string

// Output formats. Not every command supports every format.
const (
	Text  Format = "text"
	JSON  Format = "json"
	SARIF Format = "sarif"
	// JUnit is JUnit XML for CI test reports (report/junit.go).
	JUnit Format = "junit"
	// Markdown is for $GITHUB_STEP_SUMMARY and pull-request comments
	// (report/markdown.go).
	Markdown Format = "markdown"
)

// VerifyFormats are the formats of every verifying command; schema lint
// adds SARIF.
var VerifyFormats = []Format{Text, JSON, JUnit, Markdown}

// FormatValue is a pflag.Value restricted to a set of formats.
type FormatValue struct {
	dst     *Format
	allowed []Format
}

// NewFormatValue binds a --format flag to dst.
func NewFormatValue(dst *Format, allowed ...Format) *FormatValue {
	return &FormatValue{dst: dst, allowed: allowed}
}

func (v *FormatValue) String() string { return string(*v.dst) }
func (v *FormatValue) Type() string   { return "format" }

// Set accepts one of the allowed formats.
func (v *FormatValue) Set(s string) error {
	for _, f := range v.allowed {
		if string(f) == s {
			*v.dst = f
			return nil
		}
	}
	return fmt.Errorf("unknown format %q: use %s", s, FormatList(v.allowed))
}

// FormatList renders formats as "text|json".
func FormatList(fs []Format) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, "|")
}

// writeJSON writes v as indented JSON with a trailing newline. HTML escaping
// is off so identifiers like "a<b" read naturally.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable is the one table style for all text reports: plain columns,
// headers as written, no borders, so output diffs and greps well.
func newTable(w io.Writer, header ...any) *tablewriter.Table {
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.On, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.On},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
	t.Header(header...)
	return t
}

// Table renders rows as a text table in the project's one style.
func Table(w io.Writer, header []any, rows [][]any) error {
	t := newTable(w, header...)
	for _, r := range rows {
		if err := t.Append(cleanAll(r)...); err != nil {
			return err
		}
	}
	return t.Render()
}
