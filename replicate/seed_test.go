package replicate

import (
	"context"
	"strings"
	"testing"
	"time"
)

// seedSchema is the failure of the seed: a CHECK constraint calls a
// function that calls another function unqualified, so under the apply
// worker's empty search_path the initial copy fails on every row.
const seedSchema = `
CREATE SCHEMA app;
CREATE FUNCTION app.canon_code(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(trim(t)) $$;
CREATE FUNCTION app.valid_code(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN canon_code(t) ~ '^[a-z0-9]+$';
END $$;
ALTER FUNCTION app.valid_code(text) SET search_path = app, public;
ALTER FUNCTION app.valid_code(text) RESET search_path;
CREATE TABLE app.items (id bigint PRIMARY KEY, code text NOT NULL CONSTRAINT items_code_check CHECK (app.valid_code(code)));
INSERT INTO app.items SELECT g, 'Code' || g FROM generate_series(1, 2000) g;
CREATE TABLE app.plain (id int PRIMARY KEY, v text);
INSERT INTO app.plain SELECT g, 'v' || g FROM generate_series(1, 500) g;
`

func TestSeedLintGateStops(t *testing.T) {
	src, dst, db := pair(t, 16)
	mustExec(t, src, db, "SET search_path = app, public;"+seedSchema)
	ctx := context.Background()

	res, err := Run(ctx, baseOpts(src, dst, db))
	logResult(t, res)
	if err != nil {
		t.Fatal(err)
	}
	g := gate(res, "lint")
	if g == nil || g.Verdict != Fail || !res.Failed() {
		t.Fatalf("want the lint gate to fail, got %+v", g)
	}
	all := strings.Join(g.Details, "\n")
	for _, want := range []string{"app.valid_code", "canon_code", "items_code_check"} {
		if !strings.Contains(all, want) {
			t.Errorf("lint details lack %q:\n%s", want, all)
		}
	}
	if s := step(res, "publication"); s != nil {
		t.Errorf("ran past the lint gate: %+v", s)
	}

	// --fix-search-path: the same run completes.
	opts := baseOpts(src, dst, db)
	opts.FixSearchPath = true
	res, err = Run(ctx, opts)
	requirePass(t, res, err)
	for _, name := range []string{"preflight", "lint", "schema diff", "initial sync", "tables", "sequences"} {
		if g := gate(res, name); g == nil || g.Verdict != Pass {
			t.Errorf("gate %s: %+v", name, g)
		}
	}
	if len(res.Tables) != 2 {
		t.Errorf("want 2 tables synced, got %+v", res.Tables)
	}
	// A rerun finds the fix in place and recreates nothing.
	res, err = Run(ctx, opts)
	requirePass(t, res, err)
	if s := step(res, "schema"); s.Status != StepSkipped || !strings.Contains(s.Detail, "already pinned") {
		t.Errorf("rerun: schema step %+v", s)
	}

	// The source is never altered.
	var cfg *string
	conn, _ := src.Connect(ctx, db)
	defer conn.Close(ctx)
	_ = conn.QueryRow(ctx, "SELECT proconfig::text FROM pg_proc WHERE proname = 'valid_code'").Scan(&cfg)
	if cfg != nil {
		t.Errorf("source function altered: %s", *cfg)
	}
}

func TestSeedSkipLintDiagnosis(t *testing.T) {
	src, dst, db := pair(t, 16)
	mustExec(t, src, db, "SET search_path = app, public;"+seedSchema)
	opts := baseOpts(src, dst, db)
	opts.SkipLint = true
	t0 := time.Now()
	res, err := Run(context.Background(), opts)
	logResult(t, res)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Diagnosis
	if d == nil {
		t.Fatal("no diagnosis")
	}
	sync := step(res, "initial sync")
	if sync == nil || sync.Duration > 30*time.Second {
		t.Errorf("diagnosis took longer than 30s: %+v", sync)
	}
	if d.Table != "app.items" || d.Cause != causeLint || !strings.Contains(d.Detail, "valid_code") || !strings.Contains(d.Fix, "search_path") {
		t.Errorf("diagnosis: %+v", *d)
	}
	t.Logf("whole run %s", time.Since(t0))
}
