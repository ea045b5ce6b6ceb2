package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pgverify/pgverify/failover/pgbouncer"
	"github.com/pgverify/pgverify/failover/proxy"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

// The switch side of `make bench`: pgverify proxy's overhead against a
// direct connection (select-only, 16 clients), and the manual PgBouncer
// recipe (PAUSE, wait for the slot, RELOAD, RESUME) under pgbench TPC-B,
// its pause and worst transaction latency, as the baseline the switch
// drivers are compared with.

var reTPS = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func pgbenchRun(ctx context.Context, port int, user, password, db string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "pgbench", append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", user}, append(args, db)...)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("pgbench: %w: %s", err, lastLines(string(out), 3))
	}
	return string(out), nil
}

func tps(out string) float64 {
	m := reTPS.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// proxyOverhead measures select-only throughput direct and through an
// in-process pgverify proxy, alternating, median of repeat runs each.
func proxyOverhead(ctx context.Context, c *pgcluster.Cluster, db string, repeat int) (direct, proxied float64, err error) {
	p, err := proxy.New(proxy.Config{Backend: c.DSN(db), MaxClients: 100})
	if err != nil {
		return 0, 0, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = p.Serve(pctx, l) }()
	port := l.Addr().(*net.TCPAddr).Port
	args := []string{"-n", "-S", "-c", "16", "-j", "2", "-T", "10", "-M", "simple"}
	var d, pr []float64
	for i := 0; i < repeat; i++ {
		out, err := pgbenchRun(ctx, c.Port, "postgres", c.Password, db, args...)
		if err != nil {
			return 0, 0, err
		}
		d = append(d, tps(out))
		out, err = pgbenchRun(ctx, port, "postgres", "", db, args...)
		if err != nil {
			return 0, 0, err
		}
		pr = append(pr, tps(out))
	}
	return median(d), median(pr), nil
}

// manualPgBouncer runs the recipe by hand under pgbench TPC-B: PAUSE db,
// wait until the target's slot confirmed the source's position, rewrite
// the ini, RELOAD, RESUME. It returns the pause (PAUSE sent → RESUME done)
// and the worst transaction latency from pgbench's per-transaction log.
func manualPgBouncer(ctx context.Context, src, tgt *pgcluster.Cluster, db, role, password string) (pause, worst time.Duration, failed int, err error) {
	b, err := pgcluster.StartPgBouncer(ctx, src, pgcluster.PgBouncerOptions{DB: db, Users: map[string]string{role: password}})
	if err != nil {
		return 0, 0, 0, err
	}
	defer b.Stop()
	d := pgbouncer.New(pgbouncer.Spec{AdminDSN: b.AdminDSN(), Ini: b.Ini, DB: db})
	defer d.Close()
	if err := d.Check(ctx); err != nil {
		return 0, 0, 0, err
	}
	logDir, err := os.MkdirTemp("", "pgverify-bench-log-")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(logDir)
	done := make(chan error, 1)
	var out string
	go func() {
		var err error
		out, err = pgbenchRun(ctx, b.Port, role, password, db, "-n", "-c", "16", "-j", "2", "-T", "12", "-M", "extended",
			"-l", "--log-prefix", filepath.Join(logDir, "tx"))
		done <- err
	}()
	time.Sleep(5 * time.Second)
	t0 := time.Now()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = d.Pause(pctx)
	cancel()
	if err != nil {
		<-done
		return 0, 0, 0, err
	}
	if err := pgcluster.WaitCaughtUp(ctx, src, db); err != nil {
		_ = d.Resume(ctx)
		<-done
		return 0, 0, 0, err
	}
	if err := d.Switch(ctx, tgt.DSN(db)); err != nil {
		_ = d.Resume(ctx)
		<-done
		return 0, 0, 0, err
	}
	if err := d.Resume(ctx); err != nil {
		<-done
		return 0, 0, 0, err
	}
	pause = time.Since(t0)
	if err := <-done; err != nil {
		return pause, 0, 0, err
	}
	if m := regexp.MustCompile(`number of failed transactions: (\d+)`).FindStringSubmatch(out); m != nil {
		failed, _ = strconv.Atoi(m[1])
	}
	worst, err = worstLatency(logDir)
	return pause, worst, failed, err
}

// worstLatency reads pgbench -l logs: the third field is the latency in µs.
func worstLatency(dir string) (time.Duration, error) {
	files, err := filepath.Glob(filepath.Join(dir, "tx*"))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no pgbench log in %s", dir)
	}
	var worst int64
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) >= 3 {
				if v, err := strconv.ParseInt(fs[2], 10, 64); err == nil && v > worst {
					worst = v
				}
			}
		}
		fh.Close()
	}
	return time.Duration(worst) * time.Microsecond, nil
}

// switchBench prepares pgbench databases (TPC-B scale 1 on the source, its
// schema on the target, subscribed) and prints the switch baselines.
func switchBench(ctx context.Context, src, tgt *pgcluster.Cluster, repeat int) error {
	if _, err := exec.LookPath("pgbench"); err != nil {
		return fmt.Errorf("pgbench not installed: run make tools")
	}
	const db = "pgb"
	role, password := "bench_app", "bench-app-pw"
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.CreateDB(ctx, db); err != nil {
			return err
		}
	}
	if _, err := pgbenchRun(ctx, src.Port, "postgres", src.Password, db, "-i", "-q", "-s", "1"); err != nil {
		return err
	}
	if _, err := pgbenchRun(ctx, tgt.Port, "postgres", tgt.Password, db, "-i", "-q", "-I", "dtp"); err != nil {
		return err
	}
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'; GRANT ALL ON ALL TABLES IN SCHEMA public TO %s", role, password, role)); err != nil {
			return err
		}
	}
	if err := pgcluster.Subscribe(ctx, src, tgt, db, "pgb"); err != nil {
		return err
	}
	direct, proxied, err := proxyOverhead(ctx, tgt, db, repeat)
	if err != nil {
		return err
	}
	var pauses, worsts []float64
	fails := 0
	for i := 0; i < repeat; i++ {
		// Each run switches the PgBouncer from the source to the target;
		// every run starts from a fresh PgBouncer on the source.
		p, w, f, err := manualPgBouncer(ctx, src, tgt, db, role, password)
		if err != nil {
			return err
		}
		pauses, worsts = append(pauses, float64(p.Milliseconds())), append(worsts, float64(w.Milliseconds()))
		fails += f
		// Writes went to the target: bring the source back in line by
		// re-running on the source only what the next run needs (TPC-B
		// keeps its invariants on each side; the subscription copies
		// nothing backwards, so the target simply diverges).
	}
	fmt.Println()
	fmt.Printf("switch baselines, PG 13 -> PG 16, pgbench scale 1, median of %d\n", repeat)
	fmt.Printf("%-34s %8.0f tps\n", "select-only 16 clients, direct", direct)
	fmt.Printf("%-34s %8.0f tps = %.2f x direct (added latency %.0f us/query at 16 clients)\n", "select-only 16 clients, proxy", proxied, proxied/direct, 16e6/proxied-16e6/direct)
	fmt.Printf("%-34s %8.0f ms pause, worst transaction %.0f ms, %d failed (TPC-B 16 clients)\n", "manual PgBouncer recipe", median(pauses), median(worsts), fails)
	check := func(name string, ok bool) {
		s := "PASS"
		if !ok {
			s = "FAIL"
		}
		fmt.Printf("target %-40s %s\n", name, s)
	}
	check("proxy >= 0.9 x direct select-only", proxied >= 0.9*direct)
	return nil
}
