package lint_test

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"github.com/pgverify/pgverify/schema/lint"
)

// versionedMigrations: in name order 100_ (which pins f and drops the
// stale helper) sorts before 11_ (which creates them), and the .down.sql
// files would undo each step.
var versionedMigrations = map[string]string{
	"11_init.up.sql": `CREATE FUNCTION public.old_helper(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE FUNCTION public.g(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT i > 0 $$;
CREATE FUNCTION public.f(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT g(i) $$;
CREATE TABLE public.t (i int CHECK (public.f(i)));`,
	"11_init.down.sql": `DROP TABLE public.t; DROP FUNCTION public.f(int), public.g(int), public.old_helper(int);`,
	"100_pin.up.sql": `ALTER FUNCTION public.f(int) SET search_path = public;
DROP FUNCTION public.old_helper(int);`,
	"100_pin.down.sql": `ALTER FUNCTION public.f(int) RESET search_path;
CREATE FUNCTION public.old_helper(i int) RETURNS boolean LANGUAGE sql AS $$ SELECT old_g(i) $$;`,
}

// TestMigrationOrder13And16: a migration tool applies the up migrations by
// version on PG 13 and 16; lint of the directory in OrderMigrations' order
// matches lint of the migrated databases (clean), while name order with
// the down files does not.
func TestMigrationOrder13And16(t *testing.T) {
	ctx := context.Background()
	var names []string
	for n := range versionedMigrations {
		names = append(names, n)
	}
	sort.Strings(names) // name order: 100_pin.down, 100_pin.up, 11_init.down, 11_init.up
	ordered, skipped := lint.OrderMigrations(names, false)
	if !reflect.DeepEqual(ordered, []string{"11_init.up.sql", "100_pin.up.sql"}) || len(skipped) != 2 {
		t.Fatalf("order %q, skipped %q", ordered, skipped)
	}
	inputs := func(names []string) []lint.Input {
		var in []lint.Input
		for _, n := range names {
			in = append(in, lint.Input{Name: n, SQL: versionedMigrations[n]})
		}
		return in
	}
	for _, major := range []int{13, 16} {
		c := lint.SharedCluster(t, major)
		db := lint.FreshDB(t, c)
		for _, n := range ordered {
			psqlFile(t, c, db, versionedMigrations[n])
		}
		mustExec(t, c, db, "SET search_path = ''; INSERT INTO public.t VALUES (1)") // f works with an empty path
		live := lintDB(t, c, db)
		files, err := lint.LintFiles(ctx, inputs(ordered), lint.Options{PGVersion: major})
		if err != nil {
			t.Fatal(err)
		}
		if len(live.Findings) != 0 || !reflect.DeepEqual(summarize(files), summarize(live)) {
			t.Errorf("PG %d: files %v, live %v", major, summarize(files), summarize(live))
		}
		byName, err := lint.LintFiles(ctx, inputs(names), lint.Options{PGVersion: major})
		if err != nil {
			t.Fatal(err)
		}
		if byName.Errors() == 0 {
			t.Errorf("PG %d: name order unexpectedly matches: %v", major, summarize(byName))
		}
	}
}
