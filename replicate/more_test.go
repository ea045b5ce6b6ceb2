package replicate

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

func TestSplitPassword(t *testing.T) {
	for _, c := range []struct{ in, dsn, pw string }{
		{"postgres://u:s3cr%40t@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?sslmode=disable", "s3cr@t"},
		{"postgres://u@h/db?password=pw1&sslmode=require", "postgres://u@h/db?sslmode=require", "pw1"},
		{"host=h port=1 user=u password=pw2 dbname=d", "host=h port=1 user=u dbname=d", "pw2"},
		{"host=h password='a b\\'c' dbname=d", "host=h dbname=d", "a b'c"},
		{"host=h dbname=d", "host=h dbname=d", ""},
	} {
		dsn, pw := splitPassword(c.in)
		if strings.Join(strings.Fields(dsn), " ") != c.dsn || pw != c.pw {
			t.Errorf("splitPassword(%q) = %q, %q; want %q, %q", c.in, dsn, pw, c.dsn, c.pw)
		}
	}
}

// Rows already on the target collide with the initial copy: the diagnosis
// names the table and says to truncate it.
func TestDiagnosisDuplicateRows(t *testing.T) {
	src, dst, db := pair(t, 16)
	const schema = "CREATE TABLE public.t (id int PRIMARY KEY, v text); CREATE TABLE public.u (id int PRIMARY KEY);"
	mustExec(t, src, db, schema+"INSERT INTO public.t SELECT g, 'v' FROM generate_series(1, 1000) g; INSERT INTO public.u VALUES (1);")
	if err := dst.CreateDB(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	mustExec(t, dst, db, schema+"INSERT INTO public.t VALUES (7, 'stray');")
	res, err := Run(context.Background(), baseOpts(src, dst, db))
	logResult(t, res)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Diagnosis
	if d == nil || d.Table != "public.t" || d.Cause != causeDuplicates || !strings.Contains(d.Fix, `TRUNCATE "public"."t"`) {
		t.Fatalf("diagnosis: %+v", d)
	}
	if s := step(res, "initial sync"); s.Duration > 30*time.Second {
		t.Errorf("diagnosis took %s", s.Duration)
	}
}

// Roles the schema needs but the target lacks stop the run with the
// CREATE ROLE to run; a pg_dump older than the source is refused with what
// to install.
func TestRolesAndPgDumpVersion(t *testing.T) {
	src, dst, db := pair(t, 16)
	owner, reader := db+"_owner", db+"_reader"
	mustExec(t, src, db, `CREATE ROLE `+owner+` NOLOGIN; CREATE ROLE `+reader+` LOGIN;
		CREATE TABLE public.t (id int PRIMARY KEY); ALTER TABLE public.t OWNER TO `+owner+`; GRANT SELECT ON public.t TO `+reader)
	t.Cleanup(func() {
		_ = src.Exec(context.Background(), db, "DROP TABLE public.t; DROP ROLE "+owner+"; DROP ROLE "+reader)
	})
	res, err := Run(context.Background(), baseOpts(src, dst, db))
	logResult(t, res)
	if err != nil {
		t.Fatal(err)
	}
	g := gate(res, "roles")
	all := strings.Join(g.Details, "\n")
	if g.Verdict != Fail || !strings.Contains(all, "CREATE ROLE "+`"`+owner+`" NOLOGIN`) || !strings.Contains(all, "CREATE ROLE "+`"`+reader+`" LOGIN`) {
		t.Errorf("roles gate: %+v", g)
	}
	if step(res, "schema") != nil {
		t.Error("ran past the roles gate")
	}

	mustExec(t, dst, "postgres", "CREATE ROLE "+owner+" NOLOGIN; CREATE ROLE "+reader+" LOGIN")
	t.Cleanup(func() {
		_ = dst.Exec(context.Background(), "postgres", "DROP ROLE IF EXISTS "+owner+"; DROP ROLE IF EXISTS "+reader)
	})
	fake := filepath.Join(t.TempDir(), "pg_dump")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.22'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := baseOpts(src, dst, db)
	opts.PgDump = fake
	_, err = Run(context.Background(), opts)
	t.Logf("old pg_dump: %v", err)
	if err == nil || !strings.Contains(err.Error(), "install postgresql-client-13") || !strings.Contains(err.Error(), "--pg-dump /usr/lib/postgresql/13/bin/pg_dump") {
		t.Errorf("old pg_dump: %v", err)
	}
}

// On a target before PG 15 (no pg_stat_subscription_stats) a failing
// table sync is seen by its worker restarting.
func TestSeedSkipLintDiagnosisOldTarget(t *testing.T) {
	src, _, db := pair(t, 16)
	// A second PG 13 cluster as the target (the shared one is the source).
	dst, err := pgcluster.Start(context.Background(), pgcluster.Options{Major: 13, Name: "oldtarget"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanupTarget(dst, db); _ = dst.Stop() })
	mustExec(t, src, db, "SET search_path = app, public;"+seedSchema)
	opts := baseOpts(src, dst, db)
	opts.SkipLint = true
	opts.Poll = time.Second // the default
	res, err := Run(context.Background(), opts)
	logResult(t, res)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Diagnosis
	if d == nil || d.Table != "app.items" || d.Cause != causeLint {
		t.Fatalf("diagnosis: %+v", d)
	}
	if s := step(res, "initial sync"); s.Duration > 30*time.Second {
		t.Errorf("diagnosis took %s", s.Duration)
	}
}

// A source role without REPLICATION (and not a superuser) is refused up
// front, before anything is created, with the ALTER ROLE to run.
func TestPrivilegesGate(t *testing.T) {
	src, dst, db := pair(t, 16)
	role := db + "_app"
	mustExec(t, src, db, "CREATE ROLE "+role+" LOGIN PASSWORD 'pw_"+role+"'; CREATE TABLE public.t (id int PRIMARY KEY); ALTER TABLE public.t OWNER TO "+role)
	t.Cleanup(func() { _ = src.Exec(context.Background(), db, "DROP TABLE public.t; DROP ROLE "+role) })
	opts := baseOpts(src, dst, db)
	opts.SourceDSN = "postgres://" + role + ":pw_" + role + "@127.0.0.1:" + strconv.Itoa(src.Port) + "/" + db + "?sslmode=disable"
	res, err := Run(context.Background(), opts)
	logResult(t, res)
	if err != nil {
		t.Fatal(err)
	}
	g := gate(res, "privileges")
	all := strings.Join(g.Details, "\n")
	if g.Verdict != Fail || !strings.Contains(all, `ALTER ROLE "`+role+`" REPLICATION;`) || !strings.Contains(all, "FOR ALL TABLES needs a superuser") {
		t.Errorf("privileges gate: %+v", g)
	}
	if step(res, "target database") != nil {
		t.Error("ran past the privileges gate")
	}
}

// --table/--exclude publish and verify only the selection (partitioned
// table included); a rerun reuses the publication.
func TestSelection(t *testing.T) {
	src, dst, db := pair(t, 16)
	mustExec(t, src, db, `CREATE SCHEMA a; CREATE SCHEMA b;
		CREATE TABLE a.x (id int PRIMARY KEY); INSERT INTO a.x SELECT generate_series(1, 100);
		CREATE TABLE a.skip (id int PRIMARY KEY); INSERT INTO a.skip VALUES (1);
		CREATE TABLE a.e (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
		CREATE TABLE a.e1 PARTITION OF a.e FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
		INSERT INTO a.e SELECT g, date '2024-01-01' + g % 300 FROM generate_series(1, 500) g;
		CREATE TABLE b.y (id int PRIMARY KEY); INSERT INTO b.y SELECT generate_series(1, 50);`)
	opts := baseOpts(src, dst, db)
	opts.Selection.Include = []string{"a.*"}
	opts.Selection.Exclude = []string{"a.skip"}
	opts.Verify = VerifySample
	res, err := Run(context.Background(), opts)
	requirePass(t, res, err)
	var names []string
	for _, tb := range res.Tables {
		names = append(names, tb.Table)
	}
	if strings.Join(names, ",") != "a.e1,a.x" {
		t.Errorf("synced %v, want a.e1, a.x", names)
	}
	if g := gate(res, "sample"); g == nil || g.Verdict != Pass {
		t.Errorf("sample gate: %+v", g)
	}
	res, err = Run(context.Background(), opts)
	requirePass(t, res, err)
	if s := step(res, "publication"); s.Status != StepSkipped {
		t.Errorf("rerun: publication %+v", s)
	}
}

// A subscription owned by a non-superuser (PG 16+: pg_create_subscription)
// whose workers cannot act as the table owner: the diagnosis says so.
func TestDiagnosisSubscriptionOwner(t *testing.T) {
	src, dst, db := pair(t, 16)
	ctx := context.Background()
	role := db + "_sub"
	mustExec(t, src, db, "CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t SELECT generate_series(1, 100); CREATE PUBLICATION pgverify FOR ALL TABLES")
	if err := dst.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	mustExec(t, dst, db, "CREATE TABLE public.t (id int PRIMARY KEY); CREATE ROLE "+role+" LOGIN PASSWORD 'pw'; GRANT pg_create_subscription TO "+role+"; GRANT CREATE ON DATABASE "+db+" TO "+role)
	t.Cleanup(func() {
		cleanupTarget(dst, db)
		_ = dst.Exec(context.Background(), "postgres", "DROP ROLE IF EXISTS "+role)
	})
	conn, err := dst.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var lit string
	_ = conn.QueryRow(ctx, "SELECT quote_literal($1)", src.ConnInfo(db)).Scan(&lit)
	for _, q := range []string{"SET ROLE " + role, "CREATE SUBSCRIPTION pgverify CONNECTION " + lit + " PUBLICATION pgverify"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)
	res, err := Run(ctx, baseOpts(src, dst, db))
	logResult(t, res)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Diagnosis
	if d == nil || d.Table != "public.t" || d.Cause != causeOwner || !strings.Contains(d.Fix, "run_as_owner") {
		t.Fatalf("diagnosis: %+v", d)
	}
}
