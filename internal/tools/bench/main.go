// Command bench measures `pgverify tables` against baselines in the same run:
// a table of -rows rows (5M ≈ 1.1 GB) on PG 13 replicated to PG 16, then
// count(*), COPY binary and the md5(row::text) aggregate on both sides at
// once, pgverify on identical data and with 10 changed rows, and pgverify's
// peak RSS. Run it with `make bench`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pgverify/pgverify/failover/pgbouncer"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

const ddl = `CREATE TABLE bench (
  id bigint PRIMARY KEY, account_id uuid, kind text, amount numeric(12,2), score float8,
  payload jsonb, tags text[], created_at timestamptz, note text)`

// Deterministic rows, so both clusters can load the same data in parallel
// and the subscription starts without an initial copy.
const load = `INSERT INTO bench
SELECT g, md5(g::text)::uuid, (ARRAY['deposit','withdrawal','fee','refund'])[1 + g %% 4],
       ((g::int8 * 7919) %% 10000000) / 100.0, ((g::int8 * 104729) %% 1000003) / 1000.0,
       jsonb_build_object('n', g, 'src', 'web', 'tags', jsonb_build_array(g %% 7, g %% 11), 'amount', (g %% 1000) / 10.0),
       ARRAY['t' || g %% 10, 't' || g %% 17], timestamptz '2024-01-01' + g * interval '1 second',
       CASE WHEN g %% 3 = 0 THEN NULL ELSE 'note ' || md5(g::text) END
FROM generate_series(%d, %d) g`

func main() {
	pgbouncer.RunKeeperIfAsked() // the switch bench pauses PgBouncers
	rows := flag.Int("rows", 5_000_000, "rows in the bench table")
	bin := flag.String("bin", "bin/pgverify", "pgverify binary")
	jobs := flag.Int("jobs", 4, "pgverify --jobs")
	repeat := flag.Int("repeat", 3, "runs of each measurement (the median is reported)")
	rangeRows := flag.Int("range-rows", 0, "pgverify --range-rows (0: its default)")
	only := flag.String("only", "all", "tables, replicate or switch (one part alone), or all")
	keep := flag.String("keep", "", "load the table, write both DSNs to this file (mode 0600) and leave the clusters running, for profiling by hand")
	flag.Parse()
	if err := run(*rows, *bin, *jobs, *repeat, *rangeRows, *only, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(rows int, bin string, jobs, repeat, rangeRows int, only, keep string) (err error) {
	ctx := context.Background()
	bin, _ = filepath.Abs(bin)
	settings := map[string]string{"max_wal_size": "'4GB'", "checkpoint_timeout": "'30min'"}
	var src, tgt *pgcluster.Cluster
	var g errgroup.Group
	g.Go(func() (err error) {
		src, err = pgcluster.Start(ctx, pgcluster.Options{Major: 13, Name: "bench-src", Settings: settings, Keep: keep != ""})
		return err
	})
	g.Go(func() (err error) {
		tgt, err = pgcluster.Start(ctx, pgcluster.Options{Major: 16, Name: "bench-tgt", Settings: settings, Keep: keep != ""})
		return err
	})
	err = g.Wait()
	defer func() {
		if keep != "" && err == nil {
			return
		}
		for _, c := range []*pgcluster.Cluster{src, tgt} {
			if c != nil {
				_ = c.Stop()
			}
		}
	}()
	if err != nil {
		return err
	}
	if only == "switch" {
		return switchBench(ctx, src, tgt, repeat)
	}
	fmt.Printf("loading %d rows on PG %d and PG %d ...\n", rows, src.Major, tgt.Major)
	t0 := time.Now()
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.CreateDB(ctx, "bench"); err != nil {
			return err
		}
		if err := c.Exec(ctx, "bench", ddl); err != nil {
			return err
		}
	}
	// Two loaders per cluster, in halves.
	g = errgroup.Group{}
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		half := rows / 2
		for _, r := range [][2]int{{1, half}, {half + 1, rows}} {
			g.Go(func() error { return c.Exec(ctx, "bench", fmt.Sprintf(load, r[0], r[1])) })
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		for _, q := range []string{"VACUUM ANALYZE bench", "CHECKPOINT"} {
			if err := c.Exec(ctx, "bench", q); err != nil {
				return err
			}
		}
	}
	if err := src.Exec(ctx, "bench", "CREATE PUBLICATION bench FOR ALL TABLES"); err != nil {
		return err
	}
	if err := tgt.Exec(ctx, "bench", fmt.Sprintf("CREATE SUBSCRIPTION bench CONNECTION '%s' PUBLICATION bench WITH (copy_data = false)", src.ConnInfo("bench"))); err != nil {
		return err
	}
	if err := pgcluster.WaitSynced(ctx, src, tgt, "bench", 5*time.Minute); err != nil {
		return err
	}
	var size string
	if err := queryRow(ctx, src, "SELECT pg_size_pretty(pg_table_size('bench'))", &size); err != nil {
		return err
	}
	fmt.Printf("loaded in %s: %s per side; live subscription PG %d -> PG %d\n\n", time.Since(t0).Round(time.Second), size, src.Major, tgt.Major)
	if only == "replicate" {
		return replicateBench(ctx, bin, src, tgt)
	}
	if keep != "" {
		// The DSNs hold the clusters' passwords: a private file, not stdout.
		dsns := fmt.Sprintf("SRC=%s\nTGT=%s\n# stop: %s/pg_ctl -D %s stop; %s/pg_ctl -D %s stop (as the postgres user)\n",
			src.DSN("bench"), tgt.DSN("bench"), src.BinDir, src.DataDir(), tgt.BinDir, tgt.DataDir())
		if err = os.WriteFile(keep, []byte(dsns), 0o600); err == nil {
			fmt.Printf("clusters left running; DSNs in %s\n", keep)
		}
		return err
	}

	both := func(sql string) func() error {
		return func() error {
			var g errgroup.Group
			for _, c := range []*pgcluster.Cluster{src, tgt} {
				g.Go(func() error { return c.Exec(ctx, "bench", sql) })
			}
			return g.Wait()
		}
	}
	copyBoth := func() error {
		var g errgroup.Group
		for _, c := range []*pgcluster.Cluster{src, tgt} {
			g.Go(func() error {
				conn, err := c.Connect(ctx, "bench")
				if err != nil {
					return err
				}
				defer conn.Close(ctx)
				_, err = conn.PgConn().CopyTo(ctx, io.Discard, "COPY bench TO STDOUT (FORMAT binary)")
				return err
			})
		}
		return g.Wait()
	}
	srcDSN, tgtDSN := src.DSN("bench"), tgt.DSN("bench")
	var lastRSS int64
	var lastOut []byte
	pgverify := func() error {
		args := []string{"tables", "--source", srcDSN, "--target", tgtDSN, "--jobs", fmt.Sprint(jobs), "--format", "json", "--no-progress"}
		if rangeRows > 0 {
			args = append(args, "--range-rows", fmt.Sprint(rangeRows))
		}
		cmd := exec.Command(bin, args...)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			err = nil // differences found: expected in the damaged run
		}
		if err != nil {
			return fmt.Errorf("pgverify: %w", err)
		}
		lastOut = out
		lastRSS = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
		return nil
	}

	count, err := measure(repeat, both("SELECT count(*) FROM bench"))
	if err != nil {
		return err
	}
	cp, err := measure(repeat, copyBoth)
	if err != nil {
		return err
	}
	// data-diff's per-segment checksum: sum of 60 bits of md5(row::text).
	md5, err := measure(repeat, both("SELECT count(*), sum(('x' || substring(md5(t::text), 18))::bit(60)::bigint) FROM bench t"))
	if err != nil {
		return err
	}
	clean, err := measure(repeat, pgverify)
	if err != nil {
		return err
	}
	cleanRSS := lastRSS
	if v := verdict(lastOut); v != "equal" {
		return fmt.Errorf("clean run: verdict %q, want equal", v)
	}
	// Change 10 rows spread over the table on the target only.
	var ids []string
	for i := 1; i <= 10; i++ {
		ids = append(ids, fmt.Sprint(int64(rows)*int64(i)/11))
	}
	if err := tgt.Exec(ctx, "bench", "UPDATE bench SET note = coalesce(note, '') || '!' WHERE id IN ("+strings.Join(ids, ",")+")"); err != nil {
		return err
	}
	dirty, err := measure(repeat, pgverify)
	if err != nil {
		return err
	}
	found := differences(lastOut)

	line := func(name string, d time.Duration, extra string) {
		fmt.Printf("%-34s %8.2fs %s\n", name, d.Seconds(), extra)
	}
	fmt.Printf("median of %d runs, %d rows, PG %s -> PG %s, pgverify --jobs %d --range-rows %d, %d cores\n", repeat, rows, "13", "16", jobs, rangeRows, numCPU())
	line("count(*), both sides", count, "")
	line("COPY ... (FORMAT binary), both", cp, "")
	line("sum(md5(row::text)) agg, both", md5, "")
	line("pgverify tables, identical", clean, fmt.Sprintf("= %.2f x md5 agg, %.2f x COPY, peak RSS %d MB", ratio(clean, md5), ratio(clean, cp), cleanRSS/1024))
	line("pgverify tables, 10 rows changed", dirty, fmt.Sprintf("= %.2f x identical run, found %d of 10, peak RSS %d MB", ratio(dirty, clean), found, lastRSS/1024))
	fmt.Println()
	check := func(name string, ok bool) {
		s := "PASS"
		if !ok {
			s = "FAIL"
		}
		fmt.Printf("target %-40s %s\n", name, s)
	}
	check("pgverify <= 0.45 x md5 aggregate (exact hashes)", ratio(clean, md5) <= 0.45)
	check("pgverify <= 0.25 x md5 aggregate (speed issue)", ratio(clean, md5) <= 0.25)
	check("pgverify <= 1.0 x COPY binary", ratio(clean, cp) <= 1.0)
	check("peak RSS <= 200 MB", max(cleanRSS, lastRSS) <= 200*1024)
	check("10 changed rows <= 1.2 x identical run", ratio(dirty, clean) <= 1.2)
	check("all 10 changed rows found", found == 10)
	if only == "all" {
		if err := replicateBench(ctx, bin, src, tgt); err != nil {
			return err
		}
		return switchBench(ctx, src, tgt, repeat)
	}
	return nil
}

func queryRow(ctx context.Context, c *pgcluster.Cluster, sql string, dst ...any) error {
	conn, err := c.Connect(ctx, "bench")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dst...)
}

func measure(n int, f func() error) (time.Duration, error) {
	var ds []time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t0))
	}
	for i := range ds { // insertion sort: n is tiny
		for j := i; j > 0 && ds[j] < ds[j-1]; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
	return ds[len(ds)/2], nil
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

func verdict(out []byte) string {
	var r struct {
		Summary struct{ Verdict string } `json:"summary"`
	}
	_ = json.Unmarshal(out, &r)
	return r.Summary.Verdict
}

func differences(out []byte) int {
	var r struct {
		Summary struct{ Differences int } `json:"summary"`
	}
	_ = json.Unmarshal(out, &r)
	return r.Summary.Differences
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}
