package lint_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
	"github.com/pgverify/pgverify/schema/lint"
)

// An ENABLE ALWAYS statement trigger reading its transition table: the
// name is not a schema object and resolves under any search_path.
const transitionSchema = `
CREATE TABLE public.items (id int PRIMARY KEY, qty int);
CREATE TABLE public.item_counts (n bigint);
CREATE FUNCTION public.count_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.item_counts SELECT pg_catalog.count(*) FROM newrows;
  RETURN NULL;
END $$;
CREATE TRIGGER items_count AFTER INSERT ON public.items
  REFERENCING NEW TABLE AS newrows FOR EACH STATEMENT EXECUTE FUNCTION public.count_new();
ALTER TABLE public.items ENABLE ALWAYS TRIGGER items_count;
`

// TestTransitionTables13To16: the trigger fires under an empty search_path
// on PG 13 and 16, and neither the pg_dump of the PG 13 database nor either
// live database reports newrows (before the fix: PGV101 error).
func TestTransitionTables13To16(t *testing.T) {
	src := lint.SharedCluster(t, 13)
	dst := lint.SharedCluster(t, 16)
	db := lint.FreshDB(t, src)
	if err := dst.CreateDB(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	mustExec(t, src, db, transitionSchema)
	dump := pgDump(t, src, db)
	psqlFile(t, dst, db, dump)
	res, err := lint.LintFiles(context.Background(), []lint.Input{{Name: "dump.sql", SQL: dump}}, lint.Options{PGVersion: 16})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, r *lint.Result) {
		for _, f := range r.Findings {
			if f.Reference == "newrows" || f.Severity == lint.Error {
				t.Errorf("%s: %s %s %s", what, f.Code, f.Reference, f.Message)
			}
		}
	}
	check("dump", res)
	for _, c := range []*pgcluster.Cluster{src, dst} {
		check("live", lintDB(t, c, db))
		mustExec(t, c, db, "SET search_path = ''; INSERT INTO public.items VALUES (1, 1), (2, 2)")
		if n := count(t, c, db, "SELECT n::int FROM public.item_counts"); n != 2 {
			t.Errorf("PG %d: trigger counted %d rows, want 2", c.Major, n)
		}
	}
	if !strings.Contains(dump, "REFERENCING NEW TABLE AS newrows") {
		t.Fatalf("dump lacks the transition table:\n%s", dump)
	}
}
