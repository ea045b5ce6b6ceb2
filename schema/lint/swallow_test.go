package lint_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/pgcluster"
	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/schema/lint"
)

// The CHECK's function calls g() without a schema inside a block that
// catches every error: under the apply worker's empty path the call fails,
// the handler returns false, and valid rows violate the CHECK.
const swallowSchema = `
CREATE FUNCTION public.positive(i int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT i > 0 $$;
CREATE FUNCTION public.ok(i int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN positive(i);
EXCEPTION WHEN others THEN
  RETURN false;
END $$;
CREATE TABLE public.swallow_orders (id int PRIMARY KEY CONSTRAINT swallow_orders_ok CHECK (public.ok(id)));
INSERT INTO public.swallow_orders SELECT generate_series(1, 20);
`

// TestSwallowedError13To16: PG 13 → 16, the table sync fails with
// "violates check constraint" (not "function does not exist"), and lint's
// PGV101 says that this is the failure to expect; the --fix makes the sync
// succeed.
func TestSwallowedError13To16(t *testing.T) {
	ctx := context.Background()
	src := lint.SharedCluster(t, 13)
	dst := lint.SharedCluster(t, 16)
	db := lint.FreshDB(t, src)
	if err := dst.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	mustExec(t, src, db, swallowSchema)
	dump := pgDump(t, src, db)
	psqlFile(t, dst, db, dump)

	res, err := lint.LintFiles(ctx, []lint.Input{{Name: "dump.sql", SQL: dump}}, lint.Options{PGVersion: 16})
	if err != nil {
		t.Fatal(err)
	}
	for what, r := range map[string]*lint.Result{"dump": res, "PG 16": lintDB(t, dst, db)} {
		f := onlyError(t, r)
		if f.Code != lint.CodeReachable || f.Reference != "positive" || !strings.Contains(f.Message, `fails with "violates check constraint" on valid data`) {
			t.Errorf("%s: finding %s %s %q", what, f.Code, f.Reference, f.Message)
		}
	}

	sub := pgx.Identifier{db}.Sanitize()
	mustExec(t, src, db, "CREATE PUBLICATION "+sub+" FOR ALL TABLES")
	createSubscription(t, src, dst, db)
	defer dropSubscription(t, dst, db)
	want := `violates check constraint "swallow_orders_ok"`
	waitFor(t, 60*time.Second, "the table sync to fail on the CHECK", func() bool {
		b, _ := os.ReadFile(dst.LogFile())
		return strings.Contains(string(b), want)
	})

	var fix bytes.Buffer
	if err := report.LintFixSQL(&fix, res); err != nil {
		t.Fatal(err)
	}
	psqlFile(t, src, db, fix.String())
	psqlFile(t, dst, db, fix.String())
	if err := pgcluster.WaitSynced(ctx, src, dst, db, 90*time.Second); err != nil {
		t.Fatalf("subscription did not sync after the fix: %v", err)
	}
	if n := count(t, dst, db, "SELECT count(*) FROM public.swallow_orders"); n != 20 {
		t.Fatalf("target has %d rows after the fix, want 20", n)
	}
}
