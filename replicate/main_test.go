package replicate

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

var shared pgcluster.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	shared.StopAll()
	os.Exit(code)
}

// pair gives a fresh source database on 13 and the name for its target
// (not created) on the target major.
func pair(t *testing.T, dstMajor int) (src, dst *pgcluster.Cluster, db string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs PostgreSQL (skipped with -short)")
	}
	for _, m := range []int{13, dstMajor} {
		if !pgcluster.Available(m) {
			t.Skipf("postgres %d not installed (make postgres)", m)
		}
	}
	src = shared.Get(t, 13)
	dst = shared.Get(t, dstMajor)
	db = shared.NewDB(t, src, "rep")
	t.Cleanup(func() { cleanupTarget(dst, db) })
	return src, dst, db
}

// cleanupTarget drops the subscription (and its slot on the source) and
// the target database, so shared clusters stay small.
func cleanupTarget(dst *pgcluster.Cluster, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := dst.Connect(ctx, db)
	if err == nil {
		rows, _ := conn.Query(ctx, "SELECT subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())")
		var subs []string
		for rows != nil && rows.Next() {
			var s string
			_ = rows.Scan(&s)
			subs = append(subs, s)
		}
		if rows != nil {
			rows.Close()
		}
		for _, s := range subs {
			_, _ = conn.Exec(ctx, `DROP SUBSCRIPTION "`+s+`"`)
		}
		conn.Close(ctx)
	}
	_ = dst.Exec(ctx, "postgres", `DROP DATABASE IF EXISTS "`+db+`"`)
}

func mustExec(t *testing.T, c *pgcluster.Cluster, db, sql string) {
	t.Helper()
	if err := c.Exec(context.Background(), db, sql); err != nil {
		t.Fatalf("exec on %d: %v\n%s", c.Major, err, sql)
	}
}

func baseOpts(src, dst *pgcluster.Cluster, db string) Options {
	return Options{SourceDSN: src.DSN(db), TargetDSN: dst.DSN(db), CreateDatabase: true, Analyze: true,
		SyncTimeout: 3 * time.Minute, Poll: 200 * time.Millisecond}
}

func gate(res *Result, name string) *Gate {
	for i := range res.Gates {
		if res.Gates[i].Name == name {
			return &res.Gates[i]
		}
	}
	return nil
}

func step(res *Result, name string) *Step {
	for i := range res.Steps {
		if res.Steps[i].Name == name {
			return &res.Steps[i]
		}
	}
	return nil
}

func logResult(t *testing.T, res *Result) {
	t.Helper()
	if res == nil {
		return
	}
	for _, s := range res.Steps {
		t.Logf("step %-16s %-8s %8s  %s", s.Name, s.Status, s.Duration.Round(time.Millisecond), s.Detail)
	}
	for _, g := range res.Gates {
		t.Logf("gate %-16s %-6s %8s  %s", g.Name, g.Verdict, g.Duration.Round(time.Millisecond), g.Summary)
		for _, d := range g.Details {
			t.Logf("     %s", d)
		}
	}
	if res.Diagnosis != nil {
		t.Logf("diagnosis: %+v", *res.Diagnosis)
	}
}

func requirePass(t *testing.T, res *Result, err error) {
	t.Helper()
	logResult(t, res)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Failed() {
		t.Fatalf("run failed: verdict %s", res.Verdict())
	}
}
