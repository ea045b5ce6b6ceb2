package lint_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/pgcluster"
	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/schema/lint"
)

// The failure: a CHECK calls public.f(jsonb), whose body calls g()
// without a schema.
const acceptanceSchema = `
CREATE FUNCTION public.g(j jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT j ? 'id' $$;
CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN g(j);
END
$$;
CREATE TABLE public.orders (
    id integer PRIMARY KEY,
    payload jsonb CONSTRAINT orders_payload_check CHECK (public.f(payload))
);
INSERT INTO public.orders SELECT i, jsonb_build_object('id', i) FROM generate_series(1, 100) i;
`

var acceptanceChain = []string{"CHECK constraint orders_payload_check on public.orders", "public.f(jsonb)", "g(jsonb)"}

// TestAcceptance13To16 reproduces the real failure on PG 13 → PG 16: the
// subscription's initial sync of the table fails with "function g(jsonb)
// does not exist"; schema lint reports it on the pg_dump output and on both
// live databases; applying the --fix SQL to source and target makes the
// same subscription sync the table.
func TestAcceptance13To16(t *testing.T) {
	ctx := context.Background()
	src := lint.SharedCluster(t, 13)
	dst := lint.SharedCluster(t, 16)
	db := lint.FreshDB(t, src)
	if err := dst.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	mustExec(t, src, db, acceptanceSchema)

	// The schema-only dump pg_dump writes, restored on the target by psql.
	dump := pgDump(t, src, db)
	if !strings.Contains(dump, "set_config('search_path', '', false)") {
		t.Fatalf("pg_dump output does not set an empty search_path:\n%s", dump)
	}
	psqlFile(t, dst, db, dump)

	// 1. The dump lints with the error, at the call of g in f's body.
	res, err := lint.LintFiles(ctx, []lint.Input{{Name: "dump.sql", SQL: dump}}, lint.Options{PGVersion: 16})
	if err != nil {
		t.Fatal(err)
	}
	line, col := position(dump, "RETURN g(j)", len("RETURN "))
	f := onlyError(t, res)
	if f.Code != lint.CodeReachable || f.Object != "function public.f(jsonb)" || f.Reference != "g" ||
		f.ResolvesTo != "public.g(jsonb)" || f.File != "dump.sql" || f.Line != line || f.Col != col ||
		!reflect.DeepEqual(f.Chain, acceptanceChain) {
		t.Fatalf("dump finding = %+v\nwant PGV101 at dump.sql:%d:%d with chain %q", f, line, col, acceptanceChain)
	}

	// 2. Both live databases report the same, at line 3 of f's body.
	for _, c := range []*pgcluster.Cluster{src, dst} {
		live := lintDB(t, c, db)
		f := onlyError(t, live)
		if f.Code != lint.CodeReachable || f.Object != "function public.f(jsonb)" || f.Line != 3 || f.Col != 10 ||
			!reflect.DeepEqual(f.Chain, acceptanceChain) || live.PGVersion != c.Major {
			t.Fatalf("PG %d live finding = %+v (pg_version %d)", c.Major, f, live.PGVersion)
		}
	}

	// 3. The real failure: the initial sync of orders fails, and keeps
	// failing, with the error the linter predicted.
	sub := pgx.Identifier{db}.Sanitize()
	mustExec(t, src, db, "CREATE PUBLICATION "+sub+" FOR ALL TABLES")
	createSubscription(t, src, dst, db)
	defer dropSubscription(t, dst, db)
	waitFor(t, 60*time.Second, "the table sync to fail", func() bool {
		return syncErrors(t, dst, db) >= 2
	})
	logText, _ := os.ReadFile(dst.LogFile())
	if !strings.Contains(string(logText), "function g(jsonb) does not exist") {
		t.Fatalf("target log does not show the apply worker's error:\n%s", tail(string(logText), 3000))
	}
	if n := count(t, dst, db, "SELECT count(*) FROM public.orders"); n != 0 {
		t.Fatalf("target has %d rows although the sync failed", n)
	}

	// 4. The --fix SQL, applied to source and target (twice: idempotent),
	// lets the same subscription sync the table.
	var fix bytes.Buffer
	if err := report.LintFixSQL(&fix, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fix.String(), "ALTER FUNCTION public.f(jsonb) SET search_path TO public, pg_temp;") {
		t.Fatalf("unexpected fix:\n%s", fix.String())
	}
	psqlFile(t, src, db, fix.String())
	psqlFile(t, dst, db, fix.String())
	psqlFile(t, dst, db, fix.String())
	if err := pgcluster.WaitSynced(ctx, src, dst, db, 90*time.Second); err != nil {
		t.Fatalf("subscription did not sync after the fix: %v", err)
	}
	if n := count(t, dst, db, "SELECT count(*) FROM public.orders"); n != 100 {
		t.Fatalf("target has %d rows after the fix, want 100", n)
	}
	mustExec(t, src, db, "INSERT INTO public.orders VALUES (101, '{\"id\": 101}')")
	if err := pgcluster.WaitCaughtUp(ctx, src, db); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dst, db, "SELECT count(*) FROM public.orders"); n != 101 {
		t.Fatalf("target has %d rows after streaming a new one, want 101", n)
	}

	// 5. After the fix both databases lint clean.
	for _, c := range []*pgcluster.Cluster{src, dst} {
		if live := lintDB(t, c, db); len(live.Findings) != 0 {
			t.Fatalf("PG %d still has findings after the fix: %+v", c.Major, live.Findings)
		}
	}
}

// TestPG17MaintenanceIndex: on PG 17, CREATE INDEX runs index expressions
// with search_path = pg_catalog, pg_temp. An index on a function whose body
// calls another without a schema builds on 16 but fails on 17; lint finds
// it from the migration files and from the live PG 16 database, and the fix
// makes the index build on 17.
func TestPG17MaintenanceIndex(t *testing.T) {
	ctx := context.Background()
	schema := `
CREATE FUNCTION public.norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION public.search_key(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT norm(t) $$;
CREATE TABLE public.items (id integer PRIMARY KEY, name text);
INSERT INTO public.items VALUES (1, 'Apple'), (2, 'Banana');
`
	migration := "CREATE INDEX items_key ON public.items (public.search_key(name));\n"
	chain := []string{"index public.items_key on public.items", "public.search_key(text)", "norm(text)"}

	c16, c17 := lint.SharedCluster(t, 16), lint.SharedCluster(t, 17)
	db16, db17 := lint.FreshDB(t, c16), lint.FreshDB(t, c17)
	mustExec(t, c16, db16, schema+migration) // fine before 17
	mustExec(t, c17, db17, schema)
	err := c17.Exec(ctx, db17, migration)
	if err == nil || !strings.Contains(err.Error(), "function norm(text) does not exist") {
		t.Fatalf("CREATE INDEX on PG 17: err = %v, want function norm(text) does not exist", err)
	}

	res, err := lint.LintFiles(ctx, []lint.Input{{Name: "schema.sql", SQL: schema}, {Name: "0002_index.sql", SQL: migration}}, lint.Options{PGVersion: 17})
	if err != nil {
		t.Fatal(err)
	}
	f := onlyError(t, res)
	line, col := position(schema, "SELECT norm(t)", len("SELECT "))
	if f.Code != lint.CodeReachable || f.File != "schema.sql" || f.Line != line || f.Col != col || !reflect.DeepEqual(f.Chain, chain) {
		t.Fatalf("file finding = %+v, want PGV101 at schema.sql:%d:%d via %q", f, line, col, chain)
	}
	if !strings.Contains(f.Message, "PG 17 maintenance") {
		t.Errorf("message does not name PG 17 maintenance: %s", f.Message)
	}
	live := lintDB(t, c16, db16)
	if lf := onlyError(t, live); !reflect.DeepEqual(lf.Chain, chain) {
		t.Fatalf("live PG 16 finding chain = %q, want %q", lf.Chain, chain)
	}

	var fix bytes.Buffer
	if err := report.LintFixSQL(&fix, res); err != nil {
		t.Fatal(err)
	}
	psqlFile(t, c17, db17, fix.String())
	if err := c17.Exec(ctx, db17, migration+"ANALYZE public.items;"); err != nil {
		t.Fatalf("CREATE INDEX on PG 17 after the fix: %v", err)
	}
	if n := count(t, c17, db17, "SELECT count(*) FROM public.items WHERE public.search_key(name) = 'apple'"); n != 1 {
		t.Fatalf("index expression gives %d rows for 'apple', want 1", n)
	}
	if live := lintDB(t, c17, db17); live.Errors() != 0 {
		t.Fatalf("PG 17 after the fix: %+v", live.Findings)
	}
}

// TestLiveMatchesFiles applies the golden fixture to a real PG 16 database
// and checks --db mode finds exactly what the file mode finds; then applies
// the fix and checks only the finding no search_path can fix remains.
func TestLiveMatchesFiles(t *testing.T) {
	ctx := context.Background()
	sql, err := os.ReadFile(filepath.Join("testdata", "cases", "fixture.sql"))
	if err != nil {
		t.Fatal(err)
	}
	c := lint.SharedCluster(t, 16)
	db := lint.FreshDB(t, c)
	mustExec(t, c, db, string(sql))

	fileRes, err := lint.LintFiles(ctx, []lint.Input{{Name: "fixture.sql", SQL: string(sql)}}, lint.Options{PGVersion: 16})
	if err != nil {
		t.Fatal(err)
	}
	liveRes := lintDB(t, c, db)
	if got, want := summarize(liveRes), summarize(fileRes); !reflect.DeepEqual(got, want) {
		t.Fatalf("live findings differ from file findings\nlive:\n  %s\nfile:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if liveRes.Suppressed != fileRes.Suppressed || liveRes.Suppressed == 0 {
		t.Errorf("suppressed: live %d, file %d", liveRes.Suppressed, fileRes.Suppressed)
	}
	if len(fileRes.Findings) < 10 {
		t.Fatalf("fixture produced only %d findings", len(fileRes.Findings))
	}

	var fix bytes.Buffer
	if err := report.LintFixSQL(&fix, fileRes); err != nil {
		t.Fatal(err)
	}
	psqlFile(t, c, db, fix.String())
	after := lintDB(t, c, db)
	for _, f := range after.Findings {
		if f.Code != lint.CodeCrossTable {
			t.Errorf("after the fix: %s %s %s", f.Code, f.Object, f.Message)
		}
	}
	if len(after.Findings) == 0 {
		t.Errorf("the cross-table CHECK (PGV107) should remain after the fix")
	}
	// The pinned functions now work with an empty search_path, as the apply
	// worker runs them: insert through every root.
	mustExec(t, c, db, `SET search_path = '';
		INSERT INTO app.orders (status, payload, total) VALUES ('new', '{"id": 1}', 1.5);
		INSERT INTO app.customers VALUES (1);
		INSERT INTO app.invoices VALUES (1, 1);
		INSERT INTO app.notes VALUES (1, 'x');
		SELECT 'paid'::app.status_text;
		REFRESH MATERIALIZED VIEW app.daily;`)
}

// summarize reduces findings to what both modes must agree on.
func summarize(r *lint.Result) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, fmt.Sprintf("%s %s %s %s %s", f.Code, f.Severity, f.Object, f.ReferenceKind, f.Reference))
	}
	sort.Strings(out)
	return out
}

func onlyError(t *testing.T, r *lint.Result) lint.Finding {
	t.Helper()
	var errs []lint.Finding
	for _, f := range r.Findings {
		if f.Severity == lint.Error {
			errs = append(errs, f)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("want exactly one error, got %d: %+v", len(errs), r.Findings)
	}
	return errs[0]
}

// position returns the 1-based line and column (in characters) of the
// first occurrence of s in text, plus skip bytes.
func position(text, s string, skip int) (int, int) {
	i := strings.Index(text, s)
	if i < 0 {
		return 0, 0
	}
	i += skip
	line := strings.Count(text[:i], "\n") + 1
	ls := strings.LastIndex(text[:i], "\n") + 1
	return line, utf8.RuneCountInString(text[ls:i]) + 1
}

func mustExec(t *testing.T, c *pgcluster.Cluster, db, sql string) {
	t.Helper()
	if err := c.Exec(context.Background(), db, sql); err != nil {
		t.Fatalf("PG %d: %v", c.Major, err)
	}
}

func count(t *testing.T, c *pgcluster.Cluster, db, q string) int {
	t.Helper()
	conn, err := c.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func lintDB(t *testing.T, c *pgcluster.Cluster, db string) *lint.Result {
	t.Helper()
	conn, err := c.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	res, err := lint.LintDatabase(context.Background(), conn, lint.Options{})
	if err != nil {
		t.Fatalf("PG %d: %v", c.Major, err)
	}
	return res
}

func clientEnv(c *pgcluster.Cluster) []string {
	return append(os.Environ(), "PGPASSWORD="+c.Password, "PGCONNECT_TIMEOUT=10")
}

// pgDump runs the real pg_dump --schema-only (the 15 client at /usr/bin
// dumps 13 servers).
func pgDump(t *testing.T, c *pgcluster.Cluster, db string) string {
	t.Helper()
	return runPgDump(t, c, db, "--schema-only")
}

// pgDumpFull dumps schema and data (COPY ... FROM stdin blocks).
func pgDumpFull(t *testing.T, c *pgcluster.Cluster, db string) string {
	t.Helper()
	return runPgDump(t, c, db)
}

func runPgDump(t *testing.T, c *pgcluster.Cluster, db string, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatalf("pg_dump not installed: %v", err)
	}
	args := append([]string{"-h", "127.0.0.1", "-p", fmt.Sprint(c.Port), "-U", "postgres", "-d", db}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = clientEnv(c)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// psqlFile runs a script with psql, stopping at the first error.
func psqlFile(t *testing.T, c *pgcluster.Cluster, db, sql string) {
	t.Helper()
	bin, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql not installed: %v", err)
	}
	f := filepath.Join(t.TempDir(), "script.sql")
	if err := os.WriteFile(f, []byte(sql), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", fmt.Sprint(c.Port), "-U", "postgres", "-d", db, "-f", f)
	cmd.Env = clientEnv(c)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("psql on PG %d: %v\n%s", c.Major, err, out)
	}
}

func createSubscription(t *testing.T, src, dst *pgcluster.Cluster, db string) {
	t.Helper()
	ctx := context.Background()
	conn, err := dst.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var lit string
	if err := conn.QueryRow(ctx, "SELECT quote_literal($1)", src.ConnInfo(db)).Scan(&lit); err != nil {
		t.Fatal(err)
	}
	id := pgx.Identifier{db}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SUBSCRIPTION "+id+" CONNECTION "+lit+" PUBLICATION "+id); err != nil {
		t.Fatal(err)
	}
}

func dropSubscription(t *testing.T, dst *pgcluster.Cluster, db string) {
	// Dropping an enabled subscription also drops its slots on the source.
	id := pgx.Identifier{db}.Sanitize()
	if err := dst.Exec(context.Background(), db, "DROP SUBSCRIPTION "+id); err != nil {
		t.Logf("drop subscription: %v", err)
	}
}

func syncErrors(t *testing.T, dst *pgcluster.Cluster, db string) int {
	conn, err := dst.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(),
		"SELECT COALESCE(sum(sync_error_count), 0)::int FROM pg_stat_subscription_stats WHERE subname = $1", db).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
