package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/checksum"
	"github.com/pgverify/pgverify/schema/diff"
	"github.com/pgverify/pgverify/schema/lint"
)

func schemaDiffFixture() *diff.Result {
	view := "SELECT id,\n    total\n   FROM app.orders;"
	view2 := "SELECT id\n   FROM app.orders;"
	return &diff.Result{
		Source: diff.Server{Version: "13.23", VersionNum: 130023},
		Target: diff.Server{Version: "16.14", VersionNum: 160014},
		Differences: []diff.Difference{
			{ObjectType: "table", Object: "app.invoices", Kind: diff.Missing, Severity: diff.SeverityError, Source: str("8 columns")},
			{ObjectType: "column", Object: "app.orders.total", Kind: diff.Changed, Attribute: "type", Severity: diff.SeverityError, Source: str("numeric(12,2)"), Target: str("numeric")},
			{ObjectType: "column", Object: "app.orders.total", Kind: diff.Changed, Attribute: "default", Severity: diff.SeverityError, Source: str("0"), Target: nil},
			{ObjectType: "view", Object: "app.order_totals", Kind: diff.Changed, Attribute: "definition", Severity: diff.SeverityError, Source: &view, Target: &view2},
			{ObjectType: "collation", Object: "app.de", Kind: diff.Changed, Attribute: "version", Severity: diff.SeverityNotice, Source: str("2.31"), Target: str("2.36")},
			{ObjectType: "index", Object: "app.orders_tmp_idx", Kind: diff.Extra, Severity: diff.SeverityError, Target: str("CREATE INDEX orders_tmp_idx ON app.orders USING btree (id)")},
		},
		Compared: []diff.TypeCount{{ObjectType: "table", Source: 3, Target: 2}, {ObjectType: "view", Source: 1, Target: 1}},
		Notes:    []string{"collation versions differ: reindex after the switch"},
	}
}

func schemaDiffEqualFixture() *diff.Result {
	return &diff.Result{
		Source:   diff.Server{Version: "13.23", VersionNum: 130023},
		Target:   diff.Server{Version: "16.14", VersionNum: 160014},
		Compared: []diff.TypeCount{{ObjectType: "table", Source: 3, Target: 3}, {ObjectType: "function", Source: 5, Target: 5}},
	}
}

// lintFixture lints schema/lint's golden fixture (no server needed).
func lintFixture(t *testing.T) *lint.Result {
	t.Helper()
	b, err := os.ReadFile("../schema/lint/testdata/cases/fixture.sql")
	if err != nil {
		t.Fatal(err)
	}
	res, err := lint.LintFiles(context.Background(), []lint.Input{{Name: "fixture.sql", SQL: string(b)}}, lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ciRenderers is every command's adapter, by golden-file stem, for both
// CI formats.
func ciRenderers(t *testing.T) map[string]func(Format, io.Writer) error {
	lr := lintFixture(t)
	return map[string]func(Format, io.Writer) error{
		"tables": func(f Format, w io.Writer) error { return Tables(w, f, tablesFixture()) },
		"tables_shard": func(f Format, w io.Writer) error {
			r := tablesFixture()
			r.Summary.Shard, r.Summary.FromState = "2/4", 1
			return Tables(w, f, r)
		},
		"sample":         func(f Format, w io.Writer) error { return Sample(w, f, sampleDifferFixture()) },
		"sample_clean":   func(f Format, w io.Writer) error { return Sample(w, f, sampleFixture()) },
		"watermark":      func(f Format, w io.Writer) error { return Watermark(w, f, watermarkFixture()) },
		"sequences":      func(f Format, w io.Writer) error { return Sequences(w, f, sequencesFixture(false)) },
		"sequences_sync": func(f Format, w io.Writer) error { return Sequences(w, f, sequencesFixture(true)) },
		"schemadiff":     func(f Format, w io.Writer) error { return SchemaDiff(w, f, schemaDiffFixture()) },
		"schemadiff_equal": func(f Format, w io.Writer) error {
			return SchemaDiff(w, f, schemaDiffEqualFixture())
		},
		"lint": func(f Format, w io.Writer) error {
			if f == JUnit {
				return LintJUnit(w, lr, false)
			}
			return LintMarkdown(w, lr, false)
		},
		"lint_strict": func(f Format, w io.Writer) error {
			if f == JUnit {
				return LintJUnit(w, lr, true)
			}
			return LintMarkdown(w, lr, true)
		},
		"preflight": func(f Format, w io.Writer) error { return Preflight(w, f, preflightFixture()) },
		"replicate": func(f Format, w io.Writer) error { return Replicate(w, f, replicateFixture()) },
	}
}

func TestCIFormatsGolden(t *testing.T) {
	for name, render := range ciRenderers(t) {
		for _, f := range []Format{JUnit, Markdown} {
			var b bytes.Buffer
			if err := render(f, &b); err != nil {
				t.Fatalf("%s %s: %v", name, f, err)
			}
			ext := ".junit.xml"
			if f == Markdown {
				ext = ".md"
			}
			checkGolden(t, name+ext, b.Bytes())
			if f == JUnit {
				checkJUnit(t, name, b.Bytes())
			}
		}
	}
}

// junitDoc reads back what writeJUnit writes, and what CI tools read.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// checkJUnit parses the document strictly and checks that every count is
// the cases' and every case has a name, classname and time.
func checkJUnit(t *testing.T, name string, b []byte) junitDoc {
	t.Helper()
	var doc junitDoc
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: not well-formed JUnit XML: %v\n%s", name, err, b)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%s: %d testsuites, want 1", name, len(doc.Suites))
	}
	s := doc.Suites[0]
	var fail, errs, skip int
	for _, c := range s.Cases {
		if c.Name == "" || c.Classname == "" || c.Time == "" {
			t.Errorf("%s: case without name, classname or time: %+v", name, c)
		}
		if c.Failure != nil {
			fail++
			if c.Failure.Message == "" {
				t.Errorf("%s: failure without a message in %s", name, c.Name)
			}
		}
		if c.Error != nil {
			errs++
		}
		if c.Skipped != nil {
			skip++
		}
	}
	if s.Tests != len(s.Cases) || s.Failures != fail || s.Errors != errs || s.Skipped != skip || s.Time == "" {
		t.Errorf("%s: testsuite counts tests=%d failures=%d errors=%d skipped=%d, cases say %d/%d/%d/%d",
			name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), fail, errs, skip)
	}
	if doc.Tests != s.Tests || doc.Failures != fail || doc.Errors != errs || doc.Skipped != skip {
		t.Errorf("%s: testsuites counts differ from the testsuite's", name)
	}
	return doc
}

func TestTablesJUnitCarriesTheDifferences(t *testing.T) {
	var b bytes.Buffer
	if err := TablesJUnit(&b, tablesFixture()); err != nil {
		t.Fatal(err)
	}
	doc := checkJUnit(t, "tables", b.Bytes())
	s := doc.Suites[0]
	// 6 tables: 1 match, 2 mismatch + 1 unstable + 1 missing_on_source fail, 1 error.
	if s.Tests != 6 || s.Failures != 4 || s.Errors != 1 || s.Skipped != 0 {
		t.Fatalf("counts tests=%d failures=%d errors=%d", s.Tests, s.Failures, s.Errors)
	}
	c := s.Cases[0]
	if c.Name != `public."Order Items"` || c.Classname != "pgverify.tables" || c.Time != "1.500" || c.Failure == nil ||
		!strings.Contains(c.Failure.Text, "changed order_id=7, line=2  columns: sku, qty") ||
		!strings.Contains(c.Failure.Text, "missing order_id=5, line=1") {
		t.Errorf("first case: %+v", c)
	}
}

// TestCIFormatsEscape: a name with a terminal escape, a newline, XML and
// Markdown punctuation and invalid UTF-8 leaves well-formed XML and
// Markdown that cannot forge a row, a heading or HTML.
func TestCIFormatsEscape(t *testing.T) {
	evil := "public.\"x\x1b[31m\n| # <b>&]]>`*_\xff\""
	res := &checksum.Result{
		Tables: []checksum.TableResult{{Table: evil, Status: checksum.StatusMismatch, DifferenceCount: 1,
			Differences: []checksum.Difference{{Kind: checksum.DiffChanged, Key: checksum.Key{{Column: "id\n", Value: str("1\x00<\uffff\ufffe")}}, Columns: []string{"a|b]]>"}}}}},
		Summary: checksum.Summary{Tables: 1, Mismatch: 1, Verdict: checksum.VerdictDifferent, SourceVersion: "13\x07"},
	}
	var x, m bytes.Buffer
	if err := TablesJUnit(&x, res); err != nil {
		t.Fatal(err)
	}
	doc := checkJUnit(t, "evil", x.Bytes())
	if !strings.Contains(x.String(), `1\x00<\uffff\ufffe  columns: a|b]]`) {
		t.Errorf("the difference is not in the failure text, escaped:\n%s", x.String())
	}
	if got := doc.Suites[0].Cases[0].Name; got != Clean(evil) {
		t.Errorf("case name %q, want Clean(name) %q", got, Clean(evil))
	}
	if err := TablesMarkdown(&m, res); err != nil {
		t.Fatal(err)
	}
	out := m.String()
	for _, bad := range []string{"\x1b", "\x00", "\x07", "<b>", "\xff", "\n# "} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown holds %q:\n%s", bad, out)
		}
	}
	// The table has its header, separator and exactly one row: the name's
	// newline and pipe did not add a row or a column.
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "|") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("table rows: %q", rows)
	}
	if n := strings.Count(strings.ReplaceAll(rows[2], `\|`, ""), "|"); n != 7 {
		t.Errorf("row has %d cell separators, want 7: %s", n, rows[2])
	}
}

func TestMarkdownCapsDetails(t *testing.T) {
	res := &checksum.Result{
		Tables:  []checksum.TableResult{{Table: "public.t", Status: checksum.StatusMismatch}},
		Summary: checksum.Summary{Tables: 1, Mismatch: 1, Verdict: checksum.VerdictDifferent},
	}
	for i := 0; i < MarkdownShowDetails+5; i++ {
		res.Tables[0].Differences = append(res.Tables[0].Differences, checksum.Difference{Kind: checksum.DiffMissing, Key: checksum.Key{{Column: "id", Value: str("1")}}})
	}
	var b bytes.Buffer
	if err := TablesMarkdown(&b, res); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\nmissing id=1"); n != MarkdownShowDetails || !strings.Contains(b.String(), "… 5 more line(s)") {
		t.Errorf("%d difference lines:\n%s", n, b.String())
	}
}

// FuzzCIFormats: whatever a name, value or message from the database holds,
// the JUnit document is well-formed with the right counts, and the Markdown
// table keeps one row and its columns.
func FuzzCIFormats(f *testing.F) {
	for _, s := range []string{"public.t", "a\x1b[2J\nb", "]]>", "<x y='1'>&amp;", "|\\|`*_", "\xff\xfe", "\u202e\u2028", "\uffff", "\r\n\t"} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, name, value, msg string) {
		res := &checksum.Result{
			Tables: []checksum.TableResult{
				{Table: name, Status: checksum.StatusMismatch, Differences: []checksum.Difference{
					{Kind: checksum.DiffChanged, Key: checksum.Key{{Column: name, Value: &value}}, Columns: []string{value}}},
					Notes: []string{msg}},
				{Table: value, Status: checksum.StatusError, Error: msg},
			},
			Summary: checksum.Summary{Tables: 2, Mismatch: 1, Errors: 1, Verdict: checksum.VerdictDifferent, SourceVersion: msg, SnapshotLSN: value},
		}
		var x, m bytes.Buffer
		if err := TablesJUnit(&x, res); err != nil {
			t.Fatal(err)
		}
		doc := checkJUnit(t, "fuzz", x.Bytes())
		if s := doc.Suites[0]; s.Tests != 2 || s.Failures != 1 || s.Errors != 1 || (s.Cases[0].Name != junitClean(name) && name != "") {
			t.Fatalf("counts or name: %+v", s)
		}
		if err := TablesMarkdown(&m, res); err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, l := range strings.Split(m.String(), "\n") {
			if strings.HasPrefix(l, "| ") {
				rows = append(rows, l)
			}
		}
		if len(rows) != 4 {
			t.Fatalf("table has %d lines, want header, separator and 2 rows:\n%s", len(rows), m.String())
		}
		for _, r := range rows[2:] {
			if n := strings.Count(strings.ReplaceAll(r, `\|`, ""), "|"); n != 7 {
				t.Fatalf("row has %d separators: %q", n, r)
			}
		}
	})
}
