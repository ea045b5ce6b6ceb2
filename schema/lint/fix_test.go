package lint_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/schema/lint"
)

// fixShapes is a migration with one function per shape of path --fix
// emits. Every function works on the source, where the migration's
// search_path (app, public) is the callers' path too.
const fixShapes = `
CREATE SCHEMA app;
SET search_path = app, public;
CREATE TABLE public.events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE public.partition_log (name text);
-- creates partitions with dynamic SQL, unqualified: they must stay in public
CREATE PROCEDURE public.make_partition(d date) LANGUAGE plpgsql AS $$
DECLARE n text := 'events_' || to_char(d, 'YYYYMMDD');
BEGIN
  EXECUTE format('create table %I partition of public.events for values from (%L) to (%L)', n, d, d + 1);
  EXECUTE format('create index on %I (id)', n);
  INSERT INTO partition_log VALUES (n);
END $$;
-- creates a table and an index without a schema (static SQL)
CREATE FUNCTION public.audit(n text) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  CREATE TABLE IF NOT EXISTS audit_log (n text);
  CREATE INDEX IF NOT EXISTS audit_log_n ON audit_log (n);
  INSERT INTO audit_log VALUES (n);
  RETURN (SELECT count(*) FROM audit_log);
END $$;
CREATE FUNCTION app.sibling() RETURNS int LANGUAGE sql AS $$ SELECT 41 $$;
-- pg_query's PL/pgSQL parser rejects OPEN on a refcursor parameter; the
-- body calls its sibling without a schema
CREATE FUNCTION app.first_item(c refcursor) RETURNS int LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
  OPEN c FOR SELECT 1;
  FETCH c INTO v;
  CLOSE c;
  RETURN sibling() + v;
END $$;
-- pins a path that misses public
CREATE FUNCTION public.helper() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION app.pinned() RETURNS int LANGUAGE plpgsql SET search_path = app AS $$ BEGIN RETURN helper() + sibling(); END $$;
-- plain: names in two schemas, in the order the source's path found them
CREATE FUNCTION app.plain() RETURNS int LANGUAGE sql AS $$ SELECT helper() + sibling() $$;
-- SECURITY DEFINER with only built-in names
CREATE FUNCTION public.whoami() RETURNS text LANGUAGE sql SECURITY DEFINER AS $$ SELECT current_user::text $$;
`

// fixCalls run every function of fixShapes; each must succeed.
var fixCalls = []string{
	"CALL public.make_partition('2024-01-%02d')",
	"SELECT public.audit('x')",
	"BEGIN; SELECT app.first_item('cur'); COMMIT",
	"SELECT app.pinned()",
	"SELECT public.whoami()",
	"SELECT app.plain()",
}

// TestFixRunsFunctions applies --fix on real PG 13 and 16 and then runs
// every function under the callers' path and under an empty search_path
// (the apply worker's): the fixed functions still work, create their
// partitions and tables where they did before (app, the first schema
// of the source's path), and the path is
// never pg_catalog first (which made unqualified CREATE fail with
// permission denied to create "pg_catalog.x").
func TestFixRunsFunctions(t *testing.T) {
	ctx := context.Background()
	for _, major := range []int{13, 16} {
		c := lint.SharedCluster(t, major)
		db := lint.FreshDB(t, c)
		mustExec(t, c, db, fixShapes)
		day := 1
		// run calls every function with path; broken lists the calls
		// that must fail (nil: all must work).
		run := func(path string, broken map[int]bool) {
			t.Helper()
			for i, call := range fixCalls {
				if strings.Contains(call, "%02d") {
					call = strings.Replace(call, "%02d", twoDigits(day), 1)
					day++
				}
				err := c.Exec(ctx, db, "SET search_path = "+path+"; "+call)
				if broken[i] && err == nil {
					t.Fatalf("PG %d, search_path %s: %s worked before the fix", major, path, call)
				}
				if !broken[i] && err != nil {
					t.Fatalf("PG %d, search_path %s: %s: %v", major, path, call, err)
				}
			}
		}
		run("app, public", map[int]bool{3: true})                            // the source's path; app.pinned misses public (PGV105)
		run("''", map[int]bool{0: true, 1: true, 2: true, 3: true, 5: true}) // the apply worker's

		res, err := lint.LintFiles(ctx, []lint.Input{{Name: "m.sql", SQL: fixShapes}}, lint.Options{PGVersion: major})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"public.make_partition(date)": `ALTER PROCEDURE public.make_partition(date) SET search_path TO app, public, pg_temp;`,
			"public.audit(text)":          `ALTER FUNCTION public.audit(text) SET search_path TO app, pg_temp;`,
			"app.first_item(refcursor)":   `ALTER FUNCTION app.first_item(refcursor) SET search_path TO app, public, pg_temp;`,
			"app.pinned()":                `ALTER FUNCTION app.pinned() SET search_path TO app, public;`,
			"public.whoami()":             `ALTER FUNCTION public.whoami() SET search_path TO public, pg_temp;`,
			"app.plain()":                 `ALTER FUNCTION app.plain() SET search_path TO app, public, pg_temp;`,
		}
		got := map[string]string{}
		for _, f := range res.Fixes {
			got[f.Object] = f.SQL
		}
		for obj, sql := range want {
			if got[obj] != sql {
				t.Errorf("PG %d fix for %s:\n got %s\nwant %s", major, obj, got[obj], sql)
			}
		}
		var fix bytes.Buffer
		if err := report.LintFixSQL(&fix, res); err != nil {
			t.Fatal(err)
		}
		psqlFile(t, c, db, fix.String())
		run("''", nil)
		run(`"$user", public`, nil)
		run("app, public", nil)
		// Created where the source's path created them before the fix (its
		// first schema, app), including those created after it.
		for _, rel := range []string{"app.events_20240101", "app.events_20240103", "app.events_20240105", "app.audit_log", "app.audit_log_n"} {
			if n := count(t, c, db, "SELECT count(*)::int FROM pg_class WHERE oid = to_regclass('"+rel+"')"); n != 1 {
				t.Errorf("PG %d: %s missing", major, rel)
			}
		}
		if n := count(t, c, db, "SELECT count(*)::int FROM pg_class WHERE relname ~ '^(events_2|audit_log)' AND relnamespace <> 'app'::regnamespace"); n != 0 {
			t.Errorf("PG %d: %d tables or indexes created outside app", major, n)
		}
		// The old shape, pg_catalog first, breaks the partition procedure.
		err = c.Exec(ctx, db, "BEGIN; ALTER PROCEDURE public.make_partition(date) SET search_path = pg_catalog, public, pg_temp; "+
			"CALL public.make_partition('2025-01-01')")
		mustExec(t, c, db, "ROLLBACK")
		if err == nil || !strings.Contains(err.Error(), `permission denied to create "pg_catalog.events_20250101"`) {
			t.Errorf("PG %d: pg_catalog first: %v, want permission denied to create", major, err)
		}
		// After the fix the database lints clean, but for the body
		// pg_query cannot parse, which is never silent (PGV108).
		live := lintDB(t, c, db)
		if s := summarize(live); live.Errors() != 0 || len(s) != 1 || !strings.HasPrefix(s[0], "PGV108") {
			t.Errorf("PG %d findings after the fix: %v", major, s)
		}
	}
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

// TestFixFromDumpRuns13To16: the same functions, linted from the pg_dump of
// the PG 13 database (which empties search_path and so loses the path
// the migration created them under) and fixed on its PG 16 restore: every
// function runs under an empty search_path, and where the fix had to guess
// the creation schema the script says so.
func TestFixFromDumpRuns13To16(t *testing.T) {
	ctx := context.Background()
	src := lint.SharedCluster(t, 13)
	dst := lint.SharedCluster(t, 16)
	db := lint.FreshDB(t, src)
	if err := dst.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	mustExec(t, src, db, fixShapes)
	dump := pgDump(t, src, db)
	psqlFile(t, dst, db, dump)
	res, err := lint.LintFiles(ctx, []lint.Input{{Name: "dump.sql", SQL: dump}}, lint.Options{PGVersion: 16})
	if err != nil {
		t.Fatal(err)
	}
	var fix bytes.Buffer
	if err := report.LintFixSQL(&fix, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ALTER PROCEDURE public.make_partition(date) SET search_path TO public, pg_temp;",
		"assumes they used the function's own schema public; check it",
		"ALTER FUNCTION app.first_item(refcursor) SET search_path TO app, pg_temp;",
	} {
		if !strings.Contains(fix.String(), want) {
			t.Errorf("fix script lacks %q:\n%s", want, fix.String())
		}
	}
	psqlFile(t, dst, db, fix.String())
	for i, call := range fixCalls {
		call = strings.Replace(call, "%02d", twoDigits(i+1), 1)
		if err := dst.Exec(ctx, db, "SET search_path = ''; "+call); err != nil {
			t.Errorf("PG 16 after the fix: %s: %v", call, err)
		}
	}
}
