package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/failover"
	"github.com/pgverify/pgverify/failover/pgbouncer"
	"github.com/pgverify/pgverify/failover/pgxswitch"
	"github.com/pgverify/pgverify/failover/proxy"
	"github.com/pgverify/pgverify/failover/proxyctl"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

// The drivers side by side: one `pgverify switch` (failover.Run, --gate
// none, reverse replication on, the CLI's defaults otherwise) per run on a
// fresh replicated pgbench database, 16 TPC-B clients in all, for each kind
// of traffic controller. Pause and worst transaction latency are what the
// clients feel; they sit next to the manual PgBouncer recipe of the same run.

type driverResult struct {
	name          string
	pauses, worst []float64 // ms
	failed, runs  int
	lost          int // committed transactions missing on the target
}

// endpoint is where load goes: a port with credentials, or the app pool.
type endpoint struct {
	port           int
	user, password string
	clients        int
}

type fleetSetup func(ctx context.Context, src *pgcluster.Cluster, db, role, password string) (drivers []failover.Driver, load []endpoint, app *pgxswitch.Pool, stop func(), err error)

func proxiesSetup(n int) fleetSetup {
	return func(ctx context.Context, src *pgcluster.Cluster, db, role, password string) ([]failover.Driver, []endpoint, *pgxswitch.Pool, func(), error) {
		var drivers []failover.Driver
		var load []endpoint
		pctx, cancel := context.WithCancel(ctx)
		for i := 0; i < n; i++ {
			p, err := proxy.New(proxy.Config{Backend: src.DSN(db)})
			if err != nil {
				cancel()
				return nil, nil, nil, nil, err
			}
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			al, _ := net.Listen("tcp", "127.0.0.1:0")
			go func() { _ = p.Serve(pctx, l) }()
			go func() { _ = p.ServeAdmin(pctx, al) }()
			c, err := proxyctl.Open(ctx, "postgres://postgres@"+al.Addr().String()+"/pgverify?sslmode=disable")
			if err != nil {
				cancel()
				return nil, nil, nil, nil, err
			}
			drivers = append(drivers, c)
			load = append(load, endpoint{port: l.Addr().(*net.TCPAddr).Port, user: "postgres", clients: split(16, n, i)})
		}
		return drivers, load, nil, cancel, nil
	}
}

func bouncersSetup(n int) fleetSetup {
	return func(ctx context.Context, src *pgcluster.Cluster, db, role, password string) ([]failover.Driver, []endpoint, *pgxswitch.Pool, func(), error) {
		var drivers []failover.Driver
		var load []endpoint
		var bs []*pgcluster.PgBouncer
		stop := func() {
			for _, b := range bs {
				b.Stop()
			}
		}
		for i := 0; i < n; i++ {
			b, err := pgcluster.StartPgBouncer(ctx, src, pgcluster.PgBouncerOptions{DB: db, Users: map[string]string{role: password}})
			if err != nil {
				stop()
				return nil, nil, nil, nil, err
			}
			bs = append(bs, b)
			drivers = append(drivers, failover.PgBouncerDriver(pgbouncer.Spec{AdminDSN: b.AdminDSN(), Ini: b.Ini, DB: db}))
			load = append(load, endpoint{port: b.Port, user: role, password: password, clients: split(16, n, i)})
		}
		return drivers, load, nil, stop, nil
	}
}

func appSetup(ctx context.Context, src *pgcluster.Cluster, db, role, password string) ([]failover.Driver, []endpoint, *pgxswitch.Pool, func(), error) {
	app, err := pgxswitch.New(ctx, fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", role, password, src.Port, db), pgxswitch.Options{})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	sctx, cancel := context.WithCancel(ctx)
	go func() { _ = app.ServeControl(sctx, l, "bench") }()
	return []failover.Driver{failover.AppDriver("http://"+l.Addr().String(), "bench")}, nil, app, func() { cancel(); app.Close() }, nil
}

// split shares total clients over n endpoints.
func split(total, n, i int) int {
	c := total / n
	if i < total%n {
		c++
	}
	return c
}

var reProcessedBench = regexp.MustCompile(`number of transactions actually processed: (\d+)`)
var reFailedBench = regexp.MustCompile(`number of failed transactions: (\d+)`)

// freshPair is a new pgbench database on src, its schema on tgt, subscribed.
func freshPair(ctx context.Context, src, tgt *pgcluster.Cluster, db, role string) error {
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
		if err := c.Exec(ctx, db, "GRANT ALL ON ALL TABLES IN SCHEMA public TO "+pgx.Identifier{role}.Sanitize()); err != nil {
			return err
		}
	}
	if err := pgcluster.Subscribe(ctx, src, tgt, db, db); err != nil {
		return err
	}
	return pgcluster.WaitCaughtUp(ctx, src, db)
}

// driverRun is one switch under load; it returns pause, worst latency (ms),
// failed transactions and committed transactions missing on the target.
func driverRun(ctx context.Context, src, tgt *pgcluster.Cluster, db, role, password string, setup fleetSetup) (pause, worst float64, failed, lost int, err error) {
	if err := freshPair(ctx, src, tgt, db, role); err != nil {
		return 0, 0, 0, 0, err
	}
	defer func() {
		_ = src.Exec(context.Background(), db, "DROP SUBSCRIPTION IF EXISTS "+failover.ReverseName)
		_ = tgt.Exec(context.Background(), db, "DROP SUBSCRIPTION IF EXISTS "+pgx.Identifier{db}.Sanitize())
	}()
	drivers, load, app, stop, err := setup(ctx, src, db, role, password)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer stop()
	defer func() {
		for _, d := range drivers {
			d.Close()
		}
	}()
	logDir, err := os.MkdirTemp("", "pgverify-bench-fleet-")
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer os.RemoveAll(logDir)

	type benchOut struct {
		out string
		err error
	}
	outs := make(chan benchOut, len(load))
	for i, e := range load {
		go func() {
			out, err := pgbenchRun(ctx, e.port, e.user, e.password, db, "-n", "-c", strconv.Itoa(e.clients), "-j", "2", "-T", "12", "-M", "extended",
				"-l", "--log-prefix", filepath.Join(logDir, fmt.Sprintf("tx%d", i)))
			outs <- benchOut{out, err}
		}()
	}
	// The app: 16 goroutines of TPC-B-like transactions, latencies kept.
	var appWorst, appCommits, appFailed atomic.Int64
	var wg sync.WaitGroup
	if app != nil {
		deadline := time.Now().Add(12 * time.Second)
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					aid, delta := rand.IntN(100000)+1, rand.IntN(10001)-5000
					t0 := time.Now()
					err := app.WithTx(ctx, func(tx pgx.Tx) error {
						if _, err := tx.Exec(ctx, "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2", delta, aid); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, $1, $2, now())", aid, delta)
						return err
					})
					if err != nil {
						appFailed.Add(1)
						continue
					}
					appCommits.Add(1)
					if us := time.Since(t0).Microseconds(); us > appWorst.Load() {
						appWorst.Store(us)
					}
				}
			}()
		}
	}
	time.Sleep(4 * time.Second)
	res, err := failover.Run(ctx, failover.Options{SourceDSN: src.DSN(db), TargetDSN: tgt.DSN(db), Drivers: drivers,
		Gate: failover.GateNone, Reverse: true, Watch: -1, Timeout: 10 * time.Second, Grace: 2 * time.Second})
	processed := 0
	for range load {
		o := <-outs
		if o.err != nil && err == nil {
			err = o.err
		}
		if m := reFailedBench.FindStringSubmatch(o.out); m != nil {
			f, _ := strconv.Atoi(m[1])
			failed += f
		}
		if m := reProcessedBench.FindStringSubmatch(o.out); m != nil {
			p, _ := strconv.Atoi(m[1])
			processed += p
		}
	}
	wg.Wait()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if res.Outcome != failover.OutcomeSwitched {
		return 0, 0, 0, 0, fmt.Errorf("outcome %s at %s: %s", res.Outcome, res.FailedStep, res.Reason)
	}
	w := float64(appWorst.Load()) / 1000
	if len(load) > 0 {
		d, err := worstLatency(logDir)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		w = float64(d.Microseconds()) / 1000
	}
	failed += int(appFailed.Load())
	processed += int(appCommits.Load())
	conn, err := tgt.Connect(ctx, db)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer conn.Close(ctx)
	var onTarget int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pgbench_history").Scan(&onTarget); err != nil {
		return 0, 0, 0, 0, err
	}
	return float64(res.Pause.Microseconds()) / 1000, w, failed, processed - onTarget, nil
}

// fleetBench runs every driver repeat times.
func fleetBench(ctx context.Context, src, tgt *pgcluster.Cluster, role, password string, repeat int) ([]driverResult, error) {
	kinds := []struct {
		name  string
		setup fleetSetup
	}{
		{"1 pgverify proxy", proxiesSetup(1)},
		{"3 pgverify proxies", proxiesSetup(3)},
		{"2 PgBouncers", bouncersSetup(2)},
		{"app library (pgxswitch)", appSetup},
	}
	var out []driverResult
	for k, kind := range kinds {
		r := driverResult{name: kind.name}
		for i := 0; i < repeat; i++ {
			p, w, f, lost, err := driverRun(ctx, src, tgt, fmt.Sprintf("fl%d_%d", k, i), role, password, kind.setup)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", kind.name, err)
			}
			r.pauses, r.worst = append(r.pauses, p), append(r.worst, w)
			r.failed += f
			r.lost += lost
			r.runs++
		}
		out = append(out, r)
	}
	return out, nil
}
