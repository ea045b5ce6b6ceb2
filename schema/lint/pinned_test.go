package lint_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/pgcluster"
	"github.com/pgverify/pgverify/schema/lint"
)

// A CHECK calls public.valid, which pins search_path = public; it calls
// check_id() and that calls id_ok() without a schema: both run with
// valid's path for the whole call.
const pinnedCallerSchema = `
CREATE FUNCTION public.id_ok(i int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT i > 0 $$;
CREATE FUNCTION public.check_id(i int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN id_ok(i);
END $$;
CREATE FUNCTION public.valid(i int) RETURNS boolean LANGUAGE sql IMMUTABLE SET search_path = public
  AS $$ SELECT check_id(i) $$;
CREATE TABLE public.pinned_orders (id int PRIMARY KEY CONSTRAINT pinned_orders_id_check CHECK (public.valid(id)));
INSERT INTO public.pinned_orders SELECT generate_series(1, 50);
`

// TestPinnedCallerReplicates13To16: the table syncs from PG 13 to PG 16
// (the apply worker runs the nested calls with valid's pinned path), and
// lint reports no error for the functions reached only through valid, on
// the dump and on both databases (before: PGV101 for check_id and id_ok).
func TestPinnedCallerReplicates13To16(t *testing.T) {
	ctx := context.Background()
	src := lint.SharedCluster(t, 13)
	dst := lint.SharedCluster(t, 16)
	db := lint.FreshDB(t, src)
	if err := dst.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	mustExec(t, src, db, pinnedCallerSchema)
	dump := pgDump(t, src, db)
	psqlFile(t, dst, db, dump)

	res, err := lint.LintFiles(ctx, []lint.Input{{Name: "dump.sql", SQL: dump}}, lint.Options{PGVersion: 16})
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]*lint.Result{"dump": res, "PG 13": lintDB(t, src, db), "PG 16": lintDB(t, dst, db)}
	for what, r := range results {
		if r.Errors() != 0 {
			t.Errorf("%s: errors %v", what, summarize(r))
		}
		warned := 0
		for _, f := range r.Findings {
			if f.Code == lint.CodeUnqualified && strings.Contains(f.Message, "only through public.valid(integer)") {
				warned++
			}
		}
		if warned != 1 {
			t.Errorf("%s: want the PGV102 for check_id's id_ok() naming its pinned caller: %v", what, summarize(r))
		}
	}

	sub := pgx.Identifier{db}.Sanitize()
	mustExec(t, src, db, "CREATE PUBLICATION "+sub+" FOR ALL TABLES")
	createSubscription(t, src, dst, db)
	defer dropSubscription(t, dst, db)
	if err := pgcluster.WaitSynced(ctx, src, dst, db, 90*time.Second); err != nil {
		t.Fatalf("subscription did not sync: %v", err)
	}
	if n := count(t, dst, db, "SELECT count(*) FROM public.pinned_orders"); n != 50 {
		t.Fatalf("target has %d rows, want 50", n)
	}
	mustExec(t, src, db, "INSERT INTO public.pinned_orders VALUES (51)")
	if err := pgcluster.WaitCaughtUp(ctx, src, db); err != nil {
		t.Fatal(err)
	}
	if n := count(t, dst, db, "SELECT count(*) FROM public.pinned_orders"); n != 51 {
		t.Fatalf("target has %d rows after streaming one, want 51", n)
	}
}
