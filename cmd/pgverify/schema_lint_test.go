package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

func lintCLI(stdin string, args ...string) (int, string, string) {
	return runCLIStdin(stdin, append([]string{"schema", "lint"}, args...)...)
}

const lintFixture = "../../schema/lint/testdata/cases/fixture.sql"

func TestSchemaLintCLIFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, sql string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("text report, exit 1 on errors", func(t *testing.T) {
		code, out, errOut := lintCLI("", lintFixture)
		if code != 1 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		first := strings.SplitN(out, "\n", 2)[0]
		if !strings.HasPrefix(first, lintFixture+":") || !strings.Contains(first, ": PGV101 error app.valid_payload(jsonb) calls has_id()") {
			t.Errorf("first line %q", first)
		}
		if !strings.Contains(out, "    via: CHECK constraint orders_payload_check on app.orders → app.valid_payload(jsonb) → has_id(jsonb)\n") ||
			!strings.Contains(out, "9 errors, 6 warnings (1 suppressed); 19 functions checked in 1 file against PostgreSQL 17's pg_catalog\n") {
			t.Errorf("report:\n%s", out)
		}
	})

	t.Run("warnings pass unless --strict", func(t *testing.T) {
		ignore := "--ignore=PGV101,PGV104,PGV105"
		if code, out, _ := lintCLI("", lintFixture, ignore); code != 0 || !strings.Contains(out, "0 errors, 6 warnings (10 suppressed)") {
			t.Errorf("exit %d:\n%s", code, out)
		}
		if code, _, _ := lintCLI("", lintFixture, ignore, "--strict"); code != 1 {
			t.Errorf("--strict: exit %d, want 1", code)
		}
	})

	t.Run("junit and markdown", func(t *testing.T) {
		code, out, _ := lintCLI("", lintFixture, "--format", "junit")
		var doc struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
		}
		if err := xml.Unmarshal([]byte(out), &doc); code != 1 || err != nil || doc.Tests != 15 || doc.Failures != 9 {
			t.Errorf("exit %d, %v, %+v:\n%s", code, err, doc, out)
		}
		code, out, _ = lintCLI("", lintFixture, "--format", "junit", "--strict")
		if err := xml.Unmarshal([]byte(out), &doc); code != 1 || err != nil || doc.Failures != 15 {
			t.Errorf("--strict: exit %d, %v, %+v", code, err, doc)
		}
		code, out, _ = lintCLI("", lintFixture, "--format", "markdown")
		if code != 1 || !strings.HasPrefix(out, "### ❌ pgverify schema lint: findings\n") || !strings.Contains(out, "| ❌ "+strings.ReplaceAll(lintFixture, "_", `\_`)+":19:10 | PGV101 | error |") {
			t.Errorf("exit %d, markdown:\n%s", code, out)
		}
		if code, _, errOut := lintCLI("", lintFixture, "--format", "junit", "--fix"); code != 2 || !strings.Contains(errOut, "--fix prints SQL") {
			t.Errorf("--fix with junit: exit %d, %q", code, errOut)
		}
	})

	t.Run("json", func(t *testing.T) {
		code, out, _ := lintCLI("", lintFixture, "--format", "json", "--pg-version", "16")
		var doc struct {
			Tool      string
			PGVersion int `json:"pg_version"`
			Summary   struct{ Errors, Warnings, Suppressed int }
			Findings  []struct {
				Code, Severity, File, Object, Fix string
				Line, Col                         int
				Chain                             []string
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("exit %d, bad JSON: %v\n%s", code, err, out)
		}
		if code != 1 || doc.Tool != "pgverify schema lint" || doc.PGVersion != 16 || doc.Summary.Errors != 9 || len(doc.Findings) != 15 {
			t.Fatalf("exit %d, %+v", code, doc)
		}
		f := doc.Findings[0]
		if f.Code != "PGV101" || f.File != lintFixture || f.Line == 0 || len(f.Chain) != 3 || !strings.HasPrefix(f.Fix, "ALTER FUNCTION ") {
			t.Errorf("first finding %+v", f)
		}
	})

	t.Run("sarif to a file", func(t *testing.T) {
		path := filepath.Join(dir, "lint.sarif")
		code, out, _ := lintCLI("", lintFixture, "--format", "sarif", "-o", path)
		if code != 1 || out != "" {
			t.Fatalf("exit %d, stdout %q", code, out)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var log struct {
			Version string
			Runs    []struct {
				Tool struct {
					Driver struct{ Rules []struct{ ID string } }
				}
				Results []struct {
					RuleID    string
					Level     string
					Locations []struct {
						PhysicalLocation struct {
							ArtifactLocation struct{ URI string }
							Region           struct{ StartLine, StartColumn int }
						}
					}
				}
			}
		}
		if err := json.Unmarshal(b, &log); err != nil {
			t.Fatal(err)
		}
		r := log.Runs[0]
		if log.Version != "2.1.0" || len(r.Tool.Driver.Rules) != 8 || len(r.Results) != 15 ||
			r.Results[0].Level != "error" || r.Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI != lintFixture ||
			r.Results[0].Locations[0].PhysicalLocation.Region.StartLine == 0 {
			t.Errorf("sarif %+v", log)
		}
	})

	t.Run("--fix prints SQL", func(t *testing.T) {
		code, out, _ := lintCLI("", lintFixture, "--fix")
		if code != 1 || !strings.HasPrefix(out, "-- pgverify schema lint --fix\n") ||
			!strings.Contains(out, "\n-- app.valid_payload(jsonb): PGV101\nALTER FUNCTION app.valid_payload(jsonb) SET search_path TO app, pg_temp;\n") ||
			!strings.HasSuffix(out, "\nCOMMIT;\n") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})

	t.Run("stdin and directories, in order", func(t *testing.T) {
		mig := filepath.Join(dir, "migrations")
		if err := os.Mkdir(mig, 0o755); err != nil {
			t.Fatal(err)
		}
		write("migrations/0002_use.sql", "CREATE TABLE public.t (i int CHECK (public.f(i)));\n")
		write("migrations/0001_funcs.sql", "CREATE FUNCTION public.f(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT g(i) $$;\n")
		code, out, _ := lintCLI("CREATE FUNCTION public.g(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n", "-", mig)
		if code != 1 || !strings.HasPrefix(out, filepath.Join(mig, "0001_funcs.sql")+":1:75: PGV101 error") ||
			!strings.Contains(out, "(it is public.g(integer))") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})

	t.Run("directories in version order, *.down.sql skipped, order reported", func(t *testing.T) {
		mig := filepath.Join(dir, "versioned")
		if err := os.Mkdir(mig, 0o755); err != nil {
			t.Fatal(err)
		}
		write("versioned/1_init.up.sql", "CREATE FUNCTION public.g(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n"+
			"CREATE FUNCTION public.f(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT g(i) $$;\n"+
			"CREATE TABLE public.t (i int CHECK (public.f(i)));\n")
		write("versioned/10_pin.up.sql", "ALTER FUNCTION public.f(int) SET search_path = public;\n")
		write("versioned/10_pin.down.sql", "ALTER FUNCTION public.f(int) RESET search_path;\n")
		write("versioned/1_init.down.sql", "DROP TABLE public.t; DROP FUNCTION public.f(int); DROP FUNCTION public.g(int);\n")
		code, out, errOut := lintCLI("", mig)
		if code != 0 || errOut != "" ||
			!strings.Contains(out, "order: "+mig+" in version order (numeric prefix, natural order): 1_init.up.sql, 10_pin.up.sql; 2 *.down.sql skipped\n") ||
			!strings.Contains(out, "skipped: "+filepath.Join(mig, "10_pin.down.sql")+", "+filepath.Join(mig, "1_init.down.sql")+"\n") {
			t.Errorf("exit %d, stderr %q:\n%s", code, errOut, out)
		}
		code, out, _ = lintCLI("", mig, "--format", "json")
		var doc struct {
			InputOrder []string `json:"input_order"`
			Skipped    []string
			Inputs     []string
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.InputOrder) != 1 || len(doc.Skipped) != 2 ||
			len(doc.Inputs) != 2 || doc.Inputs[1] != filepath.Join(mig, "10_pin.up.sql") {
			t.Errorf("json (exit %d, %v): %s", code, err, out)
		}
		// --include-down replays them too (natural order: 1_init.down.sql
		// drops everything before 10_pin.up.sql runs).
		if code, out, _ := lintCLI("", mig, "--include-down"); !strings.Contains(out, "1_init.down.sql, 1_init.up.sql, 10_pin.down.sql, 10_pin.up.sql\n") {
			t.Errorf("--include-down: exit %d:\n%s", code, out)
		}
	})

	t.Run("clean input exits 0", func(t *testing.T) {
		p := write("clean.sql", "CREATE FUNCTION public.f(i int) RETURNS int LANGUAGE sql AS $$ SELECT abs(i) $$;\n")
		if code, out, _ := lintCLI("", p); code != 0 || !strings.HasPrefix(out, "no findings; 1 function checked") {
			t.Errorf("exit %d: %q", code, out)
		}
	})

	bad := write("bad.sql", "CREATE TABLE t (\n  a int,,\n);\n")
	for _, tc := range []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"nothing to lint", nil, "nothing to lint", true},
		{"files and --db", []string{"x.sql", "--db", "postgres://u:secret@h/db"}, "either files or --db", true},
		{"--pg-version with --db", []string{"--db", "x", "--pg-version", "16"}, "--pg-version applies to files", true},
		{"unknown major", []string{"--pg-version", "15", "x.sql"}, "no built-in list for --pg-version 15", true},
		{"unknown code", []string{"--ignore", "PGV999", "x.sql"}, "--ignore PGV999: no such rule", true},
		{"--fix with json", []string{"--fix", "--format", "json", "x.sql"}, "--fix prints SQL", true},
		{"missing file", []string{filepath.Join(dir, "nope.sql")}, "cannot read " + filepath.Join(dir, "nope.sql") + ": no such file or directory", false},
		{"syntax error", []string{bad}, bad + ":2:9: syntax error at or near \",\"", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := lintCLI("", tc.args...)
			if code != 2 || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			assertOneLine(t, errOut, tc.want, tc.usage, "secret")
		})
	}
}

// TestSchemaLintCLIDatabase runs --db against a real server: findings are
// located in the function body; a wrong password fails with exit 2 and a
// message that does not contain it.
func TestSchemaLintCLIDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Postgres")
	}
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Major: 16, Name: "lintcli"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	if err := c.CreateDB(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, "app", `
CREATE FUNCTION public.g(j jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT j ? 'id' $$;
CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN g(j);
END
$$;
CREATE TABLE public.orders (id int PRIMARY KEY, payload jsonb CONSTRAINT orders_payload_check CHECK (public.f(payload)));`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := lintCLI("", "--db", c.DSN("app"))
	if code != 1 || !strings.HasPrefix(out, "public.f(jsonb):3:10: PGV101 error public.f(jsonb) calls g()") ||
		!strings.Contains(out, "in database app against its own pg_catalog (PostgreSQL 16)") {
		t.Fatalf("exit %d, stderr %q:\n%s", code, errOut, out)
	}
	code, out, _ = lintCLI("", "--db", c.DSN("app"), "--fix")
	if code != 1 || !strings.Contains(out, "ALTER FUNCTION public.f(jsonb) SET search_path TO public, pg_temp;") {
		t.Fatalf("--fix: exit %d:\n%s", code, out)
	}
	if err := c.Exec(ctx, "app", out); err != nil {
		t.Fatalf("applying the --fix output: %v", err)
	}
	if code, out, _ := lintCLI("", "--db", c.DSN("app")); code != 0 || !strings.HasPrefix(out, "no findings") {
		t.Fatalf("after the fix: exit %d:\n%s", code, out)
	}

	wrong := strings.Replace(c.DSN("app"), c.Password, "wrongpassword123", 1)
	code, out, errOut = lintCLI("", "--db", wrong)
	if code != 2 || out != "" {
		t.Fatalf("wrong password: exit %d, stdout %q", code, out)
	}
	assertOneLine(t, errOut, "authentication failed", false, "wrongpassword123")
}
