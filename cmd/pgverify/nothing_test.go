package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Verifying nothing is exit 2 with a one-line reason naming what to change,
// never "equal: 0 table(s), 0 row(s) verified" and exit 0.
func TestNothingVerified(t *testing.T) {
	src, dst := clusterPair(t, `
		CREATE TABLE public.orders (id serial PRIMARY KEY, v text);
		CREATE TABLE public.nokey (v text);
		CREATE TABLE public.empty (id int PRIMARY KEY);`,
		`INSERT INTO public.orders (v) SELECT 'o' FROM generate_series(1, 10);
		 INSERT INTO public.nokey VALUES ('a'), ('b');`, false)
	s, d := src.DSN("app"), dst.DSN("app")
	// A DSN without its database name reaches the user's database, here
	// "postgres", which has no tables.
	noDB := func(dsn string) string { return strings.Replace(dsn, "/app?", "/?", 1) }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tables", "--exclude", "*.*"}, "no tables selected: --exclude '*.*' excluded all 3 table(s); check --table/--exclude"},
		{[]string{"tables", "--table", "public.*", "--exclude", "public.*"}, "no tables selected: --exclude 'public.*' excluded all 3 table(s) --table 'public.*' selected"},
		{[]string{"sample", "--exclude", "*.*"}, "no tables selected: --exclude '*.*' excluded all 3 table(s)"},
		{[]string{"sample", "--table", "public.nokey"}, "nothing sampled: all 1 table(s) were skipped (no key to look rows up by"},
		{[]string{"sample", "--table", "public.empty"}, "nothing sampled: 0 rows drawn from 1 table(s)"},
		{[]string{"watermark", "-t", "public.orders", "-c", "id", "--exclude", "public.*"}, "--exclude leaves no table to check"}, // already refused by watermark,
		{[]string{"sequences", "--exclude", "*.*"}, "no sequences selected: --exclude '*.*'; check --sequence/--exclude"},
	} {
		code, stdout, stderr := runCLI(append(c.args, "--source", s, "--target", d)...)
		if code != exitError {
			t.Errorf("%v: exit %d, want 2\n%s", c.args, code, stdout)
		}
		assertOneLine(t, stderr, c.want, false, src.Password)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tables"}, `no tables to verify: the source database "postgres" has no tables; check the database name in --source`},
		{[]string{"sample"}, `no tables to verify: the source database "postgres" has no tables`},
		{[]string{"sequences"}, `no sequences to check: neither side of database "postgres" has one`},
		{[]string{"schema", "diff"}, `nothing to compare: neither side of database "postgres" holds a table, view, function, type or sequence`},
	} {
		code, stdout, stderr := runCLI(append(c.args, "--source", noDB(s), "--target", noDB(d))...)
		if code != exitError {
			t.Errorf("%v without a database name: exit %d, want 2\n%s", c.args, code, stdout)
		}
		assertOneLine(t, stderr, c.want, false, src.Password)
	}
	// The JSON report agrees with the exit code.
	code, stdout, _ := runCLI("tables", "--exclude", "*.*", "--format", "json", "--source", s, "--target", d)
	var doc struct{ Summary struct{ Verdict string } }
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || code != exitError || doc.Summary.Verdict != "unverified" {
		t.Errorf("tables JSON: exit %d, verdict %q, %v", code, doc.Summary.Verdict, err)
	}
}
