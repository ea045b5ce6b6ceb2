package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

// replicateBench measures `pgverify replicate --verify tables` against the
// same move done by hand: a publication and a subscription with copy_data
// created directly, waited for, then one `pgverify tables` run. Each copies
// the bench table into a database of its own on the target, one after the
// other. Target: replicate <= 1.5 x (copy + one tables run).
func replicateBench(ctx context.Context, bin string, src, tgt *pgcluster.Cluster) error {
	// By hand.
	const manual = "bench_manual"
	t0 := time.Now()
	if err := tgt.CreateDB(ctx, manual); err != nil {
		return err
	}
	if err := tgt.Exec(ctx, manual, ddl); err != nil {
		return err
	}
	if err := src.Exec(ctx, "bench", "CREATE PUBLICATION manual FOR ALL TABLES"); err != nil {
		return err
	}
	if err := tgt.Exec(ctx, manual, fmt.Sprintf("CREATE SUBSCRIPTION manual CONNECTION '%s' PUBLICATION manual", src.ConnInfo("bench"))); err != nil {
		return err
	}
	if err := waitReady(ctx, tgt, manual, 30*time.Minute); err != nil {
		return err
	}
	if err := pgcluster.WaitCaughtUp(ctx, src, "bench"); err != nil {
		return err
	}
	copied := time.Since(t0)
	t1 := time.Now()
	out, err := exec.CommandContext(ctx, bin, "tables", "--source", src.DSN("bench"), "--target", tgt.DSN(manual), "--format", "json", "--no-progress").Output()
	if err != nil {
		return fmt.Errorf("tables after the manual copy: %w", err)
	}
	if v := verdict(out); v != "equal" {
		return fmt.Errorf("tables after the manual copy: %s", v)
	}
	verified := time.Since(t1)
	if err := tgt.Exec(ctx, manual, "DROP SUBSCRIPTION manual"); err != nil {
		return err
	}
	// With pgverify replicate.
	t2 := time.Now()
	cmd := exec.CommandContext(ctx, bin, "replicate", "--source", src.DSN("bench"), "--target", tgt.DSN("bench_replicate"),
		"--create-database", "--verify", "tables", "--format", "json", "--no-progress")
	rout, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("pgverify replicate: %w: %s", err, rout)
	}
	rep := time.Since(t2)
	var res struct {
		Steps []struct {
			Name       string `json:"name"`
			DurationMS int64  `json:"duration_ms"`
		} `json:"steps"`
		Gates []struct {
			Name       string `json:"name"`
			Verdict    string `json:"verdict"`
			DurationMS int64  `json:"duration_ms"`
		} `json:"gates"`
		Summary struct{ Verdict string } `json:"summary"`
	}
	_ = json.Unmarshal(rout, &res)
	_ = tgt.Exec(ctx, "bench_replicate", "DROP SUBSCRIPTION IF EXISTS pgverify")
	fmt.Println()
	fmt.Printf("replicate, the bench table PG 13 -> PG 16 into a new database\n")
	fmt.Printf("%-34s %8.2fs (initial copy %.2fs + tables %.2fs)\n", "by hand: pub/sub + one tables run", (copied + verified).Seconds(), copied.Seconds(), verified.Seconds())
	fmt.Printf("%-34s %8.2fs = %.2f x by hand, verdict %s\n", "pgverify replicate --verify tables", rep.Seconds(), rep.Seconds()/(copied+verified).Seconds(), res.Summary.Verdict)
	for _, s := range res.Steps {
		fmt.Printf("  step %-20s %8.2fs\n", s.Name, float64(s.DurationMS)/1000)
	}
	for _, g := range res.Gates {
		fmt.Printf("  gate %-20s %8.2fs %s\n", g.Name, float64(g.DurationMS)/1000, g.Verdict)
	}
	ok := rep.Seconds() <= 1.5*(copied+verified).Seconds() && res.Summary.Verdict == "pass"
	s := "PASS"
	if !ok {
		s = "FAIL"
	}
	fmt.Printf("target %-40s %s\n", "replicate <= 1.5 x (copy + one tables run)", s)
	return nil
}

// waitReady waits until every table of db's subscriptions is ready.
func waitReady(ctx context.Context, c *pgcluster.Cluster, db string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := c.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'").Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("initial copy not done: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
