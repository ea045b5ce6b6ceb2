package replicate

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestBadInput(t *testing.T) {
	src, dst, db := pair(t, 16)
	mustExec(t, src, db, "CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t SELECT generate_series(1, 10);")
	ctx := context.Background()
	oneLine := func(err error) {
		t.Helper()
		var re *RunError
		if !errors.As(err, &re) {
			t.Fatalf("want a RunError (could not run), got %v", err)
		}
		if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), src.Password) || strings.Contains(err.Error(), dst.Password) {
			t.Errorf("error is not one safe line: %q", err)
		}
	}
	pubs := func() int {
		conn, err := src.Connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		_ = conn.QueryRow(ctx, "SELECT count(*) FROM pg_publication").Scan(&n)
		return n
	}

	// Source == target: same system identifier and database oid.
	opts := baseOpts(src, dst, db)
	opts.TargetDSN = src.DSN(db)
	_, err := Run(ctx, opts)
	t.Logf("source == target: %v", err)
	oneLine(err)
	if !strings.Contains(err.Error(), "same database") || pubs() != 0 {
		t.Errorf("source == target: %v, %d publication(s)", err, pubs())
	}

	// --plan changes nothing.
	opts = baseOpts(src, dst, db)
	opts.Plan = true
	res, err := Run(ctx, opts)
	logResult(t, res)
	if err != nil || res.Verdict() != "planned" {
		t.Fatalf("plan: %v, %+v", err, res)
	}
	if pubs() != 0 {
		t.Error("--plan created a publication")
	}
	if err := dst.Exec(ctx, db, "SELECT 1"); err == nil {
		t.Error("--plan created the target database")
	}

	// --plan against an empty target database: still nothing changes.
	if err := dst.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	res, err = Run(ctx, opts)
	logResult(t, res)
	if err != nil || res.Verdict() != "planned" || step(res, "schema").Status != StepPlanned || step(res, "subscription").Status != StepPlanned {
		t.Fatalf("plan on an empty target: %v, %+v", err, res)
	}
	if pubs() != 0 {
		t.Error("--plan created a publication")
	}

	// An existing subscription with another publication: nothing is created.
	mustExec(t, dst, db, "CREATE TABLE public.t (id int PRIMARY KEY)")
	mustExec(t, src, db, "CREATE PUBLICATION other FOR ALL TABLES")
	conn, err := dst.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var lit string
	_ = conn.QueryRow(ctx, "SELECT quote_literal($1)", src.ConnInfo(db)).Scan(&lit)
	if _, err := conn.Exec(ctx, "CREATE SUBSCRIPTION pgverify CONNECTION "+lit+" PUBLICATION other"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	res, err = Run(ctx, baseOpts(src, dst, db))
	logResult(t, res)
	t.Logf("other publication: %v", err)
	oneLine(err)
	if !strings.Contains(err.Error(), "subscription pgverify exists on the target with publication(s) other, not pgverify") {
		t.Errorf("error: %v", err)
	}
	if strings.Contains(err.Error(), "created before stopping") || pubs() != 1 {
		t.Errorf("something was created: %v (%d publications)", err, pubs())
	}

	// An existing publication with other settings.
	mustExec(t, dst, db, "DROP SUBSCRIPTION pgverify")
	mustExec(t, src, db, "CREATE PUBLICATION pgverify FOR TABLE public.t WITH (publish = 'insert')")
	_, err = Run(ctx, baseOpts(src, dst, db))
	t.Logf("other publication settings: %v", err)
	oneLine(err)
	if !strings.Contains(err.Error(), "publication pgverify exists on the source with other settings: it is FOR TABLE (a list), not FOR ALL TABLES; it does not publish every insert, update and delete") {
		t.Errorf("error: %v", err)
	}
}
