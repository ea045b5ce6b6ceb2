package lint_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/schema/lint"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden lints each testdata/cases/<case>.sql (a directory <case>/
// holds migrations, linted in name order) and compares the text, JSON,
// SARIF and --fix renderings with testdata/golden/<case>.*. pgdump.sql is
// real pg_dump 15 output of a PG 13 database, data included.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		name := strings.TrimSuffix(filepath.Base(c), ".sql")
		t.Run(name, func(t *testing.T) {
			inputs := readInputs(t, c)
			res, err := lint.LintFiles(context.Background(), inputs, lint.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for ext, render := range map[string]func(*bytes.Buffer, *lint.Result) error{
				"txt":     func(b *bytes.Buffer, r *lint.Result) error { return report.LintText(b, r) },
				"json":    func(b *bytes.Buffer, r *lint.Result) error { return report.LintJSON(b, r) },
				"sarif":   func(b *bytes.Buffer, r *lint.Result) error { return report.LintSARIF(b, r) },
				"fix.sql": func(b *bytes.Buffer, r *lint.Result) error { return report.LintFixSQL(b, r) },
			} {
				var b bytes.Buffer
				if err := render(&b, res); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", "golden", name+"."+ext), b.Bytes())
			}
		})
	}
}

// readInputs reads a case: one file, or a directory of migrations.
func readInputs(t *testing.T, path string) []lint.Input {
	t.Helper()
	paths := []string{path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		paths, _ = filepath.Glob(filepath.Join(path, "*.sql"))
	}
	var in []lint.Input
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(filepath.Join("testdata", "cases"), p)
		in = append(in, lint.Input{Name: filepath.ToSlash(rel), SQL: string(b)})
	}
	return in
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./schema/lint -run TestGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
