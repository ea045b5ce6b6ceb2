package report

import (
	"encoding/xml"
	"fmt"
	"io"
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

// --format junit: JUnit XML as CI systems read it (GitHub test reporters,
// GitLab's artifacts:reports:junit, Jenkins): one <testsuite> per run, one
// <testcase> per table, sequence, differing object or finding (name,
// classname, time in seconds); a difference is a <failure> whose message is
// one line and whose text lists the rows, columns or remedy; what could not
// be verified is an <error>; a table sample skipped is <skipped>. The
// counts on <testsuites> and <testsuite> are the cases'. Text from the
// database is escaped as in text reports (Clean) before XML escaping, so
// the document is always well-formed XML 1.0.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// junitText is element text as CDATA, so the lines of a difference stay
// lines (encoding/xml splits a "]]>" inside it).
type junitText struct {
	Text string `xml:",cdata"`
}

func junitOut(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{s}
}

func junitSeconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func junitLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = xmlSafe(cleanText(l))
	}
	return strings.Join(out, "\n") + "\n"
}

// junitClean is Clean for an XML attribute.
func junitClean(s string) string { return xmlSafe(Clean(s)) }

// xmlSafe escapes what Clean leaves but XML 1.0 forbids in a document
// (U+FFFE, U+FFFF): encoding/xml writes CDATA as it is.
func xmlSafe(s string) string {
	if !strings.ContainsAny(s, "\uFFFE\uFFFF") {
		return s
	}
	return strings.NewReplacer("\uFFFE", `\ufffe`, "\uFFFF", `\uffff`).Replace(s)
}

// writeJUnit renders r as a JUnit XML document.
func writeJUnit(w io.Writer, r *ciReport) error {
	s := junitSuite{Name: r.Command, Cases: make([]junitCase, 0, len(r.Cases))}
	s.Properties = append(s.Properties, junitProperty{"verdict", r.Outcome.Verdict},
		junitProperty{"exit_code", fmt.Sprint(r.Outcome.ExitCode)})
	for _, p := range r.Properties {
		if p[1] != "" {
			s.Properties = append(s.Properties, junitProperty{p[0], junitClean(p[1])})
		}
	}
	var sum time.Duration
	for _, c := range r.Cases {
		jc := junitCase{Name: junitClean(c.Name), Classname: junitClean(c.class(r)), Time: junitSeconds(c.Time)}
		if jc.Name == "" {
			jc.Name = "(no name)" // CI tools drop or merge cases without one
		}
		sum += c.Time
		p := &junitProblem{Message: junitClean(c.Message), Type: c.Kind, Text: junitLines(c.Details)}
		switch c.Status {
		case ciFail:
			jc.Failure = p
			s.Failures++
		case ciError:
			jc.Error = p
			s.Errors++
		case ciSkip:
			jc.Skipped = &junitProblem{Message: p.Message}
			jc.SystemOut = junitOut(p.Text)
			s.Skipped++
		default:
			jc.SystemOut = junitOut(p.Text) // notices, warnings, notes: kept, not failing
		}
		s.Cases = append(s.Cases, jc)
	}
	s.Tests = len(s.Cases)
	if r.Time > 0 {
		sum = r.Time
	}
	s.Time = junitSeconds(sum)
	s.SystemOut = junitOut(junitLines(append([]string{r.Verdict}, r.Lines...)))
	doc := junitSuites{Name: r.Command, Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped,
		Time: s.Time, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// TablesJUnit writes a `pgverify tables` result as JUnit XML.
func TablesJUnit(w io.Writer, res *checksum.Result) error { return writeJUnit(w, tablesCI(res)) }

// SampleJUnit writes a `pgverify sample` result as JUnit XML.
func SampleJUnit(w io.Writer, res *sampler.Result) error { return writeJUnit(w, sampleCI(res)) }

// WatermarkJUnit writes a `pgverify watermark` result as JUnit XML.
func WatermarkJUnit(w io.Writer, res *watermark.Result) error { return writeJUnit(w, watermarkCI(res)) }

// SequencesJUnit writes a `pgverify sequences` result as JUnit XML.
func SequencesJUnit(w io.Writer, res *sequences.Result) error { return writeJUnit(w, sequencesCI(res)) }

// SchemaDiffJUnit writes a `pgverify schema diff` result as JUnit XML.
func SchemaDiffJUnit(w io.Writer, res *diff.Result) error { return writeJUnit(w, schemaDiffCI(res)) }

// LintJUnit writes `schema lint` findings as JUnit XML; strict is --strict
// (warnings fail too).
func LintJUnit(w io.Writer, res *lint.Result, strict bool) error {
	return writeJUnit(w, lintCI(res, strict))
}

// PreflightJUnit writes a preflight result as JUnit XML.
func PreflightJUnit(w io.Writer, res *preflight.Result) error { return writeJUnit(w, preflightCI(res)) }
