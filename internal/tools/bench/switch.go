package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
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

// overhead is select-only throughput (tps) direct and through each
// forwarder, median of repeat alternating runs.
type overhead struct {
	direct, relay, proxied, bouncer float64
}

// proxyOverhead measures select-only throughput direct, through a bare
// io.Copy relay (the floor any TCP proxy pays here), through an in-process
// pgverify proxy and through PgBouncer (session pooling, the same one
// server session per client the proxy keeps), alternating.
func proxyOverhead(ctx context.Context, c *pgcluster.Cluster, db string, repeat int) (overhead, error) {
	var o overhead
	p, err := proxy.New(proxy.Config{Backend: c.DSN(db), MaxClients: 100})
	if err != nil {
		return o, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return o, err
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = p.Serve(pctx, l) }()
	port := l.Addr().(*net.TCPAddr).Port
	relay, err := startRelay(pctx, c.Port)
	if err != nil {
		return o, err
	}
	b, err := pgcluster.StartPgBouncer(ctx, c, pgcluster.PgBouncerOptions{PoolMode: "session", DB: db})
	if err != nil {
		return o, err
	}
	defer b.Stop()
	args := []string{"-n", "-S", "-c", "16", "-j", "2", "-T", "10", "-M", "simple"}
	var d, rl, pr, pb []float64
	for i := 0; i < repeat; i++ {
		for _, m := range []struct {
			port           int
			user, password string
			into           *[]float64
		}{{c.Port, "postgres", c.Password, &d}, {relay, "postgres", c.Password, &rl}, {port, "postgres", "", &pr}, {b.Port, b.User, b.Password, &pb}} {
			out, err := pgbenchRun(ctx, m.port, m.user, m.password, db, args...)
			if err != nil {
				return o, err
			}
			*m.into = append(*m.into, tps(out))
		}
	}
	return overhead{direct: median(d), relay: median(rl), proxied: median(pr), bouncer: median(pb)}, nil
}

// startRelay copies bytes both ways between loopback clients and port,
// with no protocol handling at all.
func startRelay(ctx context.Context, port int) (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	context.AfterFunc(ctx, func() { l.Close() })
	go func() {
		for {
			cc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer cc.Close()
				bc, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
				if err != nil {
					return
				}
				go func() { _, _ = io.Copy(bc, cc); bc.Close() }()
				_, _ = io.Copy(cc, bc)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, nil
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
	// PgBouncer logs in to either cluster with the userlist's password: the
	// same role on both.
	role, password := "bench_app", "bench-app-pw"
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, password)); err != nil {
			return err
		}
	}
	if err := freshPair(ctx, src, tgt, db, role); err != nil {
		return err
	}
	ov, err := proxyOverhead(ctx, tgt, db, repeat)
	if err != nil {
		return err
	}
	direct, proxied := ov.direct, ov.proxied
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
	fmt.Printf("%-34s %8.0f tps = %.2f x direct (the floor of any proxy here)\n", "select-only 16 clients, io.Copy relay", ov.relay, ov.relay/direct)
	fmt.Printf("%-34s %8.0f tps = %.2f x direct, %.2f x the relay (added latency %.0f us/query at 16 clients)\n", "select-only 16 clients, proxy", proxied, proxied/direct, proxied/ov.relay, 16e6/proxied-16e6/direct)
	fmt.Printf("%-34s %8.0f tps = %.2f x direct\n", "select-only 16 clients, PgBouncer", ov.bouncer, ov.bouncer/direct)
	fmt.Printf("%-34s %8.0f ms pause, worst transaction %.0f ms, %d failed (TPC-B 16 clients)\n", "manual PgBouncer recipe", median(pauses), median(worsts), fails)
	check := func(name string, ok bool) {
		s := "PASS"
		if !ok {
			s = "FAIL"
		}
		fmt.Printf("target %-40s %s\n", name, s)
	}
	check("proxy >= 0.9 x direct select-only", proxied >= 0.9*direct)

	drivers, err := fleetBench(ctx, src, tgt, role, password, repeat)
	if err != nil {
		return err
	}
	fmt.Println()
	fmt.Printf("pgverify switch per driver (TPC-B, 16 clients in all, reverse replication, --gate none), median of %d, next to the manual recipe above\n", repeat)
	fmt.Printf("%-34s %8.0f ms pause, worst transaction %.0f ms, %d failed\n", "manual PgBouncer recipe", median(pauses), median(worsts), fails)
	for _, d := range drivers {
		fmt.Printf("%-34s %8.0f ms pause, worst transaction %.0f ms, %d failed, %d committed not on the target\n", d.name, median(d.pauses), median(d.worst), d.failed, d.lost)
	}
	bound := map[string]float64{"1 pgverify proxy": 250, "3 pgverify proxies": 300, "2 PgBouncers": 500}
	for _, d := range drivers {
		if b, ok := bound[d.name]; ok {
			check(fmt.Sprintf("%s pause <= %.0f ms median", d.name, b), median(d.pauses) <= b)
		}
		check(d.name+" 0 failed, 0 lost", d.failed == 0 && d.lost == 0)
	}
	for _, d := range drivers[:1] {
		check(d.name+" worst transaction <= 500 ms", median(d.worst) <= 500)
	}
	return nil
}
