package lint

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// expect turns "CODE reference @needle" (or "@needle#n" for the n-th
// occurrence) into "CODE reference line:col", the needle's position in sql.
func expect(sql string, specs ...string) []string {
	out := []string{}
	for _, s := range specs {
		i := strings.Index(s, " @")
		head, needle := s[:i], s[i+2:]
		n := 1
		if j := strings.LastIndex(needle, "#"); j > 0 {
			fmt.Sscan(needle[j+1:], &n)
			needle = needle[:j]
		}
		off := -1
		for k := 0; k < n; k++ {
			next := strings.Index(sql[off+1:], needle)
			if next < 0 {
				panic("needle not found: " + needle)
			}
			off += 1 + next
		}
		line := strings.Count(sql[:off], "\n") + 1
		ls := strings.LastIndex(sql[:off], "\n") + 1
		out = append(out, fmt.Sprintf("%s %d:%d", head, line, len([]rune(sql[ls:off]))+1))
	}
	return out
}

// brief renders findings as "CODE reference line:col" for table tests.
func brief(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %d:%d", f.Code, f.Reference, f.Line, f.Col))
	}
	return out
}

func lintOne(t *testing.T, sql string, opts Options) *Result {
	t.Helper()
	res, err := LintFiles(context.Background(), []Input{{Name: "t.sql", SQL: sql}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

const checkTable = "CREATE TABLE public.t (v jsonb CHECK (public.f(v)));\n"

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		opts Options
		want []string
	}{
		{
			name: "reachable from a CHECK: error at the call",
			sql: "CREATE FUNCTION public.g(j jsonb) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n" +
				"CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE sql AS $$ SELECT g(j) $$;\n" + checkTable,
			want: []string{"PGV101 g @g(j) $$"},
		},
		{
			name: "body pg_query's PL/pgSQL parser rejects: fallback finds the names, PGV108 says so",
			sql: "CREATE FUNCTION public.g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n" +
				"CREATE FUNCTION public.f(c refcursor) RETURNS int LANGUAGE plpgsql AS $$\nDECLARE v int;\nBEGIN\n" +
				"  OPEN c FOR SELECT id FROM items WHERE id > g();\n  FETCH c INTO v;\n  PERFORM audit(v);\n" +
				"  SELECT n INTO v FROM counts;\n  v := v + g();\n  IF helper(v) THEN RETURN 0; END IF;\n" +
				"  EXECUTE 'SELECT ' || v;\n  CREATE TABLE IF NOT EXISTS made (i int);\n  RAISE NOTICE 'v %', shown(v) USING HINT = 'h';\n  RETURN v;\nEND $$;\n",
			want: []string{"PGV108  @CREATE FUNCTION public.f", "PGV102 items @items", "PGV102 g @g();\n  FETCH",
				"PGV102 audit @audit", "PGV102 counts @counts", "PGV102 helper @helper", "PGV102 made @made", "PGV102 shown @shown"},
		},
		{
			name: "not reachable: warning",
			sql: "CREATE FUNCTION public.g(j jsonb) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n" +
				"CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE sql AS $$ SELECT g(j) $$;\n",
			want: []string{"PGV102 g @g(j) $$"},
		},
		{
			name: "reachable through another function",
			sql: "CREATE FUNCTION public.h() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n" +
				"CREATE FUNCTION public.g(j jsonb) RETURNS boolean LANGUAGE sql AS $$ SELECT h() $$;\n" +
				"CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE sql AS $$ SELECT public.g(j) $$;\n" + checkTable,
			want: []string{"PGV101 h @h() $$", "PGV103  @CREATE FUNCTION public.f"},
		},
		{
			name: "pinned search_path: clean",
			sql: "CREATE FUNCTION public.g(j jsonb) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n" +
				"CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE sql SET search_path = public AS $$ SELECT g(j) $$;\n" + checkTable,
			want: []string{},
		},
		{
			name: "pinned later by ALTER FUNCTION; RESET unpins",
			sql: "CREATE FUNCTION public.g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n" +
				"CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$ SELECT g() $$;\n" +
				"CREATE FUNCTION public.k() RETURNS int LANGUAGE sql AS $$ SELECT g() $$;\n" +
				"ALTER FUNCTION public.f() SET search_path TO 'public', 'pg_temp';\n" +
				"ALTER FUNCTION public.k() SET search_path = public;\nALTER FUNCTION public.k() RESET ALL;\n",
			want: []string{"PGV102 g @g() $$#2"},
		},
		{
			name: "builtins are fine unqualified; pg_catalog prefixes too",
			sql: "CREATE FUNCTION public.f(j jsonb) RETURNS text LANGUAGE plpgsql AS $$\n" +
				"DECLARE n integer; s text[]; d date := current_date;\nBEGIN\n" +
				"  n := jsonb_array_length(j->'a') + pg_catalog.length('x');\n" +
				"  PERFORM count(*) FROM pg_class WHERE relname ~~ 'x' AND j ? 'k';\n" +
				"  RETURN lower(coalesce(j->>'a', '')) || now()::date::text;\nEND $$;\n",
			want: []string{},
		},
		{
			name: "every kind of reference",
			sql: "CREATE SCHEMA s;\nCREATE TYPE s.color AS ENUM ('red');\nCREATE TABLE s.tab (id int);\n" +
				"CREATE SEQUENCE s.seq;\nCREATE FUNCTION s.fn() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n" +
				"CREATE FUNCTION s.eq(int, int) RETURNS boolean LANGUAGE sql AS $$ SELECT $1 = $2 $$;\n" +
				"CREATE OPERATOR s.=== (FUNCTION = s.eq, LEFTARG = int, RIGHTARG = int);\n" +
				"CREATE FUNCTION s.f() RETURNS void LANGUAGE plpgsql AS $$\nDECLARE\n  c color;\n  r tab%ROWTYPE;\n  i tab.id%TYPE;\nBEGIN\n" +
				"  PERFORM fn(), 'red'::color, nextval('seq'), 'tab'::regclass, 1 === 1;\n" +
				"  INSERT INTO tab VALUES (1);\n" +
				"  UPDATE s.tab SET id = 2;\n" +
				"END $$;\n",
			want: []string{
				"PGV102 color @color;", "PGV102 tab @tab%ROWTYPE", "PGV102 tab @tab.id%TYPE",
				"PGV102 fn @fn(), ", "PGV102 seq @seq')", "PGV102 === @=== 1",
			},
		},
		{
			name: "WITH queries and temporary tables are not relations to qualify",
			sql: "CREATE FUNCTION public.f() RETURNS bigint LANGUAGE plpgsql AS $$\nBEGIN\n" +
				"  CREATE TEMP TABLE scratch (x int);\n  INSERT INTO scratch VALUES (1);\n" +
				"  RETURN (WITH w AS (SELECT x FROM scratch) SELECT count(*) FROM w);\nEND $$;\n",
			want: []string{},
		},
		{
			name: "arity: a user lower(a,b,c) does not hide behind pg_catalog.lower(text)",
			sql: "CREATE FUNCTION public.lower(a text, b text, c text) RETURNS text LANGUAGE sql AS $$ SELECT a $$;\n" +
				"CREATE FUNCTION public.f(x text) RETURNS text LANGUAGE sql AS $$ SELECT lower(x) || lower(x, x, x) $$;\n",
			want: []string{"PGV102 lower @lower(x, x, x)"},
		},
		{
			name: "dynamic SQL: constant strings are checked, computed ones reported when reachable",
			sql: "CREATE FUNCTION public.g(j jsonb) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n" +
				"CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE plpgsql AS $$\nDECLARE b boolean;\nBEGIN\n" +
				"  EXECUTE 'SELECT g($1)' INTO b USING j;\n" +
				"  EXECUTE format('SELECT %I($1)', 'g') INTO b USING j;\n  RETURN b;\nEND $$;\n" + checkTable,
			want: []string{"PGV101 g @g($1)'", "PGV106  @format("},
		},
		{
			name: "SECURITY DEFINER without a pin",
			sql:  "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;\n",
			want: []string{"PGV104  @CREATE"},
		},
		{
			name: "pinned to the wrong schema",
			sql: "CREATE SCHEMA util;\nCREATE FUNCTION util.g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n" +
				"CREATE FUNCTION public.f() RETURNS int LANGUAGE sql SET search_path = public AS $$ SELECT g() $$;\n",
			want: []string{"PGV105 g @g() $$"},
		},
		{
			name: "a body that sets its own search_path",
			sql: "CREATE SCHEMA util;\nCREATE FUNCTION util.g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n" +
				"CREATE FUNCTION public.f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM set_config('search_path', 'util', true);\n  RETURN g();\nEND $$;\n" +
				"CREATE FUNCTION public.k() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  SET LOCAL search_path = public;\n  RETURN g();\nEND $$;\n",
			want: []string{"PGV105 g @g();\nEND $$;\n#2"},
		},
		{
			name: "another language, reachable: cannot be checked",
			sql:  "CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE plperl AS $$ return 1; $$;\n" + checkTable,
			want: []string{"PGV108  @CREATE"},
		},
		{
			name: "a CHECK reading another table",
			sql: "CREATE TABLE public.other (id int);\n" +
				"CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog AS $$ SELECT EXISTS (SELECT FROM public.other) $$;\n" + checkTable,
			want: []string{"PGV107  @CHECK (public.f"},
		},
		{
			name: "only ENABLE ALWAYS/REPLICA triggers are roots",
			sql: "CREATE TABLE public.t (id int);\n" +
				"CREATE FUNCTION public.a() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM x(); RETURN NEW; END $$;\n" +
				"CREATE FUNCTION public.b() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM y(); RETURN NEW; END $$;\n" +
				"CREATE TRIGGER ta BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.a();\n" +
				"CREATE TRIGGER tb BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.b();\n" +
				"ALTER TABLE ONLY public.t ENABLE REPLICA TRIGGER tb;\n",
			want: []string{"PGV102 x @x()", "PGV101 y @y()"},
		},
		{
			name: "reached only through a caller that pins search_path: runs with that path, nested calls too",
			sql: "CREATE SCHEMA app;\n" +
				"CREATE FUNCTION public.h() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n" +
				"CREATE FUNCTION public.g() RETURNS boolean LANGUAGE sql AS $$ SELECT h() $$;\n" +
				"CREATE FUNCTION public.k() RETURNS boolean LANGUAGE sql AS $$ SELECT public.g() $$;\n" +
				"CREATE FUNCTION public.f(j jsonb) RETURNS boolean LANGUAGE sql SET search_path = public AS $$ SELECT k() $$;\n" +
				checkTable +
				"CREATE FUNCTION public.m() RETURNS boolean LANGUAGE sql AS $$ SELECT missing_fn() $$;\n" +
				"CREATE FUNCTION app.p(j jsonb) RETURNS boolean LANGUAGE sql SET search_path = app AS $$ SELECT public.m() $$;\n" +
				"CREATE TABLE public.u (v jsonb CHECK (app.p(v)));\n",
			want: []string{"PGV102 h @h() $$", "PGV103  @CREATE FUNCTION public.k", "PGV101 missing_fn @missing_fn"},
		},
		{
			name: "trigger transition tables are not schema objects",
			sql: "CREATE TABLE public.t (id int);\nCREATE TABLE public.log (n bigint);\n" +
				"CREATE FUNCTION public.a() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.log SELECT count(*) FROM newrows JOIN oldrows USING (id) JOIN other USING (id); RETURN NULL; END $$;\n" +
				"CREATE TRIGGER ta AFTER UPDATE ON public.t REFERENCING NEW TABLE AS newrows OLD TABLE AS oldrows FOR EACH STATEMENT EXECUTE FUNCTION a();\n" +
				"ALTER TABLE public.t ENABLE ALWAYS TRIGGER ta;\n",
			want: []string{"PGV101 other @other"},
		},
		{
			name: "PL/pgSQL row variables (parsed again as record)",
			sql: "CREATE TABLE public.t (id int, v text);\n" +
				"CREATE FUNCTION public.f() RETURNS int LANGUAGE plpgsql AS $$\nDECLARE\n  r public.t%ROWTYPE;\n  n int := 0;\nBEGIN\n" +
				"  FOR r IN SELECT * FROM public.t LOOP\n    r.v := upper(r.v);\n    n := n + helper(r.id);\n  END LOOP;\n  RETURN n;\nEND $$;\n",
			want: []string{"PGV102 helper @helper("},
		},
		{
			name: "--ignore and inline ignore comments",
			sql: "CREATE FUNCTION public.a() RETURNS int LANGUAGE sql AS $$ SELECT x() $$; -- pgverify:ignore PGV102\n" +
				"-- pgverify:ignore PGV102, PGV104\nCREATE FUNCTION public.b() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT y() $$;\n" +
				"CREATE FUNCTION public.c() RETURNS int LANGUAGE sql AS $$ SELECT z() -- pgverify:ignore pgv102\n$$;\n" +
				"CREATE FUNCTION public.d() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT w() $$;\n",
			opts: Options{Ignore: []string{"PGV104"}},
			want: []string{"PGV102 w @w()"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := lintOne(t, tc.sql, tc.opts)
			want := expect(tc.sql, tc.want...)
			if got := brief(res.Findings); !reflect.DeepEqual(got, want) {
				t.Errorf("findings\n got %q\nwant %q", got, want)
				for _, f := range res.Findings {
					t.Logf("%s %s", f.Code, f.Message)
				}
			}
		})
	}
}

// TestScriptSearchPath: what the script's SET search_path decides (where
// unqualified objects are created, what roots bind to) and what it does
// not (how a body resolves at run time).
func TestScriptSearchPath(t *testing.T) {
	sql := "SET search_path = app, public;\nCREATE SCHEMA app;\n" +
		"CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n" +
		"CREATE FUNCTION f(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT g() = i $$;\n" +
		"CREATE TABLE t (i int CHECK (f(i)));\n" +
		"SELECT pg_catalog.set_config('search_path', '', false);\n" +
		"CREATE FUNCTION public.h() RETURNS int LANGUAGE sql SET search_path FROM CURRENT AS $$ SELECT 1 $$;\n"
	res := lintOne(t, sql, Options{})
	if len(res.Findings) != 1 {
		t.Fatalf("findings: %+v", res.Findings)
	}
	f := res.Findings[0]
	want := []string{"CHECK constraint t_i_check on app.t", "app.f(integer)", "g()"}
	if f.Code != CodeReachable || f.ResolvesTo != "app.g()" || !reflect.DeepEqual(f.Chain, want) {
		t.Fatalf("finding %+v, want PGV101 resolving to app.g() via %q", f, want)
	}
	if res.Fixes[0].SQL != "ALTER FUNCTION app.f(int) SET search_path TO app, pg_temp;" {
		t.Errorf("fix %q", res.Fixes[0].SQL)
	}
}

// TestPositions: positions count characters, through single-quoted bodies
// with doubled quotes, and past psql meta-commands and COPY data.
func TestPositions(t *testing.T) {
	sql := "\\connect app\nCOPY public.x (a) FROM stdin;\n1\t'; CREATE FUNCTION broken(\n\\.\n" +
		"CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS 'SELECT ''é'' || g()';\n" +
		"CREATE FUNCTION public.p() RETURNS text LANGUAGE plpgsql AS $body$\nDECLARE s text := 'ünï';\nBEGIN\n  s := s || h(s); RETURN s || k();\nEND $body$;\n"
	res := lintOne(t, sql, Options{})
	want := expect(sql, "PGV102 g @g()'", "PGV102 h @h(s)", "PGV102 k @k()")
	if got := brief(res.Findings); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestBuiltinsByVersion(t *testing.T) {
	// any_value() is new in PG 16.
	sql := "CREATE FUNCTION public.f(x int[]) RETURNS int LANGUAGE sql AS $$ SELECT any_value(v) FROM unnest(x) v $$;\n"
	if got := brief(lintOne(t, sql, Options{PGVersion: 16}).Findings); len(got) != 0 {
		t.Errorf("PG 16: %q", got)
	}
	if got := brief(lintOne(t, sql, Options{PGVersion: 13}).Findings); !reflect.DeepEqual(got, expect(sql, "PGV102 any_value @any_value")) {
		t.Errorf("PG 13: %q", got)
	}
	_, err := LintFiles(context.Background(), nil, Options{PGVersion: 15})
	var ve *VersionError
	if !errors.As(err, &ve) {
		t.Errorf("PG 15: err %v, want VersionError", err)
	}
}

func TestParseError(t *testing.T) {
	_, err := LintFiles(context.Background(), []Input{{Name: "bad.sql", SQL: "SELECT 1;\nCREATE TABLE é (\n  a int,,\n);\n"}}, Options{})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != "bad.sql" || pe.Line != 3 || pe.Col != 9 {
		t.Fatalf("err = %v, want a ParseError at bad.sql:3:9", err)
	}
}

// TestReplayLifecycle: CREATE OR REPLACE, RENAME, SET SCHEMA and DROP keep
// the catalog what the script leaves behind.
func TestReplayLifecycle(t *testing.T) {
	sql := "CREATE SCHEMA old;\nCREATE SCHEMA new;\n" +
		"CREATE FUNCTION public.a() RETURNS int LANGUAGE sql AS $$ SELECT x() $$;\n" +
		"CREATE OR REPLACE FUNCTION public.a() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n" +
		"CREATE FUNCTION public.b() RETURNS int LANGUAGE sql AS $$ SELECT y() $$;\n" +
		"DROP FUNCTION public.b();\n" +
		"CREATE FUNCTION old.c() RETURNS int LANGUAGE sql AS $$ SELECT z() $$;\n" +
		"ALTER FUNCTION old.c() RENAME TO d;\nALTER FUNCTION old.d() SET SCHEMA new;\n" +
		"CREATE TABLE public.t (i int CHECK (new.d() > 0));\n" +
		"CREATE TABLE public.u (i int CHECK (public.a() > 0));\nDROP TABLE public.u;\n"
	res := lintOne(t, sql, Options{})
	if got := brief(res.Findings); !reflect.DeepEqual(got, expect(sql, "PGV101 z @z()")) {
		t.Fatalf("got %q", got)
	}
	if res.Findings[0].Object != "function new.d()" || res.Functions != 2 {
		t.Errorf("object %q, %d functions", res.Findings[0].Object, res.Functions)
	}
}

// TestFixQuoting: the fix names odd identifiers and user-defined argument
// types correctly, and parses.
func TestFixQuoting(t *testing.T) {
	sql := `CREATE SCHEMA "My Schema";
SET search_path = "My Schema";
CREATE TYPE "Kind" AS ENUM ('a');
CREATE FUNCTION "Check It"(k "Kind", n numeric[], VARIADIC rest text[]) RETURNS boolean
    LANGUAGE plpgsql AS $$ BEGIN RETURN helper(k); END $$;
CREATE FUNCTION helper(k "Kind") RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE TABLE "Order" (k "Kind" CHECK ("Check It"(k, '{1}', 'x')));
`
	res := lintOne(t, sql, Options{})
	if len(res.Fixes) != 1 {
		t.Fatalf("fixes %+v", res.Fixes)
	}
	want := `ALTER FUNCTION "My Schema"."Check It"("My Schema"."Kind", numeric[], text[]) SET search_path TO "My Schema", pg_temp;`
	if res.Fixes[0].SQL != want {
		t.Fatalf("fix\n got %s\nwant %s", res.Fixes[0].SQL, want)
	}
	if _, err := pg.Parse(res.Fixes[0].SQL); err != nil {
		t.Fatal(err)
	}
	if f := res.Findings[0]; f.Object != `function "My Schema"."Check It"("My Schema"."Kind", numeric[], text[])` || f.Code != CodeReachable {
		t.Errorf("finding %s %s", f.Code, f.Object)
	}
}

func TestBlankNonSQL(t *testing.T) {
	in := "\\restrict abc\nSELECT '\\not a command';\nCOPY t FROM stdin;\nx\\ty\n\\.\nSELECT $$\n\\inside$$;\n"
	got := blankNonSQL(in)
	if len(got) != len(in) || strings.Count(got, "\n") != strings.Count(in, "\n") {
		t.Fatal("offsets or lines changed")
	}
	for _, s := range []string{"SELECT '\\not a command';", "SELECT $$\n\\inside$$;"} {
		if !strings.Contains(got, s) {
			t.Errorf("%q was blanked", s)
		}
	}
	for _, s := range []string{"\\restrict", "x\\ty", "\\."} {
		if strings.Contains(got, s) {
			t.Errorf("%q kept", s)
		}
	}
}

func TestQuoteIdentAndPaths(t *testing.T) {
	for in, want := range map[string]string{"orders": "orders", "Orders": `"Orders"`, "order": `"order"`, "name": "name", "a b": `"a b"`, `x"y`: `"x""y"`} {
		if got := quoteIdent(in); got != want {
			t.Errorf("quoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
	if got := parsePathList(`"$user", Public, "My S",  pg_temp`); !reflect.DeepEqual(got, []string{"$user", "public", "My S", "pg_temp"}) {
		t.Errorf("parsePathList = %q", got)
	}
	if got, ok := splitQualified(`Public."My Seq"`); !ok || !reflect.DeepEqual(got, []string{"public", "My Seq"}) {
		t.Errorf("splitQualified = %q %v", got, ok)
	}
}

// TestSwallowedMessage: an unqualified call in a block whose handler
// catches a missing name says what the user will see instead.
func TestSwallowedMessage(t *testing.T) {
	for _, tc := range []struct {
		handler string
		want    bool
	}{
		{"EXCEPTION WHEN others THEN RETURN false;", true},
		{"EXCEPTION WHEN undefined_function THEN RETURN false;", true},
		{"EXCEPTION WHEN SQLSTATE '42883' THEN RETURN false;", true},
		{"EXCEPTION WHEN division_by_zero THEN RETURN false;", false},
		{"", false},
	} {
		// Also in a body only the fallback analyzes (OPEN on a refcursor
		// parameter): PGV108 then comes first.
		for _, fallback := range []bool{false, true} {
			sig, open, n := "j jsonb", "", 0
			if fallback {
				sig, open, n = "j jsonb, c refcursor DEFAULT NULL", "    OPEN c FOR SELECT CASE WHEN true THEN 1 END;\n", 1
			}
			sql := "CREATE FUNCTION public.g(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n" +
				"CREATE FUNCTION public.f(" + sig + ") RETURNS boolean LANGUAGE plpgsql AS $$\nBEGIN\n  BEGIN\n" + open + "    RETURN g(1);\n  " +
				tc.handler + "\n  END;\n  RETURN true;\nEND $$;\n" + checkTable
			res := lintOne(t, sql, Options{})
			if len(res.Findings) != 1+n || res.Findings[n].Code != CodeReachable {
				t.Fatalf("%q (fallback %v): findings %v", tc.handler, fallback, brief(res.Findings))
			}
			if got := strings.Contains(res.Findings[n].Message, "violates check constraint"); got != tc.want {
				t.Errorf("%q (fallback %v): swallowed text %v, want %v: %s", tc.handler, fallback, got, tc.want, res.Findings[n].Message)
			}
		}
	}
}
