package failover_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/failover"
	"github.com/pgverify/pgverify/failover/pgbouncer"
	"github.com/pgverify/pgverify/failover/pgxswitch"
	"github.com/pgverify/pgverify/failover/proxy"
	"github.com/pgverify/pgverify/failover/proxyctl"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

type fleetEnv struct {
	src, dst   *pgcluster.Cluster
	db, role   string
	bouncers   []*pgcluster.PgBouncer
	app        *pgxswitch.Pool
	appMember  *pgxswitch.Member
	writers    sync.WaitGroup
	stop       chan struct{}
	appFailed  atomic.Int64
	appCommits atomic.Int64
	bench      chan string
}

var reFailedTx = regexp.MustCompile(`number of failed transactions: (\d+)`)
var reProcessedTx = regexp.MustCompile(`number of transactions actually processed: (\d+)`)

// newFleet: PG 13 subscribed to by PG 16, pgbench tables, two PgBouncers in
// transaction mode and one application pool on the source; pgbench through
// each PgBouncer and 8 goroutines through the application.
func newFleet(t *testing.T, seconds int, appLease ...time.Duration) *fleetEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Postgres, PgBouncer and pgbench")
	}
	if _, err := pgcluster.PgBouncerBinary(); err != nil {
		t.Skipf("%v", err)
	}
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Skip("pgbench not installed: run make tools")
	}
	ctx := context.Background()
	e := &fleetEnv{src: clusters.Get(t, 13), dst: clusters.Get(t, 16), stop: make(chan struct{}), bench: make(chan string, 2)}
	lease := 10 * time.Second
	if len(appLease) > 0 {
		lease = appLease[0]
	}
	e.db = clusters.NewDB(t, e.src, "fleet")
	if err := e.dst.CreateDB(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	run := func(c *pgcluster.Cluster, args ...string) {
		cmd := exec.Command(pgbench, append(args, "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres", e.db)...)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+c.Password)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	run(e.src, "-i", "-q", "-s", "1")
	run(e.dst, "-i", "-q", "-I", "dtp")
	ddl := "CREATE TABLE app_events (id bigserial PRIMARY KEY, worker int, n int)"
	e.role = "app_" + e.db
	for _, c := range []*pgcluster.Cluster{e.src, e.dst} {
		if err := c.Exec(ctx, e.db, ddl); err != nil {
			t.Fatal(err)
		}
	}
	drop, err := pgcluster.AppRole(ctx, e.db, e.role, "same", e.src, e.dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	if err := pgcluster.Subscribe(ctx, e.src, e.dst, e.db, e.db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.dst.Exec(context.Background(), e.db, "DROP SUBSCRIPTION "+e.db) })

	for i := 0; i < 2; i++ {
		b, err := pgcluster.StartPgBouncer(ctx, e.src, pgcluster.PgBouncerOptions{DB: e.db, Users: map[string]string{e.role: "same"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Stop)
		e.bouncers = append(e.bouncers, b)
	}
	e.app, err = pgxswitch.New(ctx, fmt.Sprintf("postgres://%s:same@127.0.0.1:%d/%s?sslmode=disable", e.role, e.src.Port, e.db), pgxswitch.Options{Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.app.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go func() { _ = e.app.ServeControl(sctx, l, "tok") }()
	e.appMember = &pgxswitch.Member{URL: "http://" + l.Addr().String(), Token: "tok"}

	for _, b := range e.bouncers {
		go func() {
			// Bounded: a lost client must fail the test, not hang the package.
			bctx, bcancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second+90*time.Second)
			defer bcancel()
			cmd := exec.CommandContext(bctx, pgbench, "-n", "-c", "8", "-j", "2", "-T", strconv.Itoa(seconds), "-M", "extended",
				"-h", "127.0.0.1", "-p", strconv.Itoa(b.Port), "-U", e.role, e.db)
			cmd.Env = append(os.Environ(), "PGPASSWORD=same")
			out, err := cmd.CombinedOutput()
			if err != nil {
				out = append(out, []byte("\n"+err.Error())...)
			}
			e.bench <- string(out)
		}()
	}
	for w := 0; w < 8; w++ {
		e.writers.Add(1)
		go func() {
			defer e.writers.Done()
			for n := 0; ; n++ {
				select {
				case <-e.stop:
					return
				default:
				}
				if _, err := e.app.Exec(ctx, "INSERT INTO app_events (worker, n) VALUES ($1, $2)", w, n); err != nil {
					e.appFailed.Add(1)
				} else {
					e.appCommits.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	return e
}

// drivers are the fleet's switch drivers: both PgBouncers and the app.
func (e *fleetEnv) drivers(t *testing.T) []failover.Driver {
	var ds []failover.Driver
	for _, b := range e.bouncers {
		ds = append(ds, failover.PgBouncerDriver(pgbouncer.Spec{AdminDSN: b.AdminDSN(), Ini: b.Ini, DB: e.db}))
	}
	ds = append(ds, failover.AppDriver(e.appMember.URL, e.appMember.Token))
	t.Cleanup(func() {
		for _, d := range ds {
			d.Close()
		}
	})
	return ds
}

// finish stops the writers and returns pgbench's processed and failed counts.
func (e *fleetEnv) finish(t *testing.T) (processed, failed int) {
	t.Helper()
	close(e.stop)
	e.writers.Wait()
	for range e.bouncers {
		out := <-e.bench
		m, f := reProcessedTx.FindStringSubmatch(out), reFailedTx.FindStringSubmatch(out)
		if m == nil || f == nil || strings.Contains(out, "aborted") {
			t.Fatalf("pgbench through a PgBouncer:\n%s", out)
		}
		p, _ := strconv.Atoi(m[1])
		fl, _ := strconv.Atoi(f[1])
		processed, failed = processed+p, failed+fl
	}
	return processed, failed
}

func count(t *testing.T, dsn, q string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// One PgBouncer dies between the pause and the switch: the fleet rolls
// back, the other members resume on the source with no failed transaction,
// and nothing is served by the target.
func TestFleetRollbackWhenAMemberDies(t *testing.T) {
	e := newFleet(t, 6)
	ctx := context.Background()
	drivers := e.drivers(t)
	time.Sleep(2 * time.Second)
	opts := failover.Options{SourceDSN: e.src.DSN(e.db), TargetDSN: e.dst.DSN(e.db), Drivers: drivers, Expect: 3,
		Gate: failover.GateNone, Timeout: 3 * time.Second, Grace: 2 * time.Second, Watch: -1}
	failover.SetAfterPause(&opts, e.bouncers[1].Stop)
	res, err := failover.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Acks {
		t.Logf("%-12s %-40s %8.1f ms %s", a.Phase, a.Member, a.TookMS, a.Error)
	}
	if res.Outcome != failover.OutcomeRolledBack || res.FailedStep != "switch" {
		t.Fatalf("outcome %s at %q (%s), want rolled_back at switch", res.Outcome, res.FailedStep, res.Reason)
	}
	t.Logf("switch rolled back as it must: %s", res.Reason)
	dstApp := count(t, e.dst.DSN(e.db), "SELECT count(*) FROM app_events")
	time.Sleep(time.Second) // the survivors keep writing, on the source
	close(e.stop)
	e.writers.Wait()
	out := <-e.bench // the surviving PgBouncer's pgbench (the other one's clients lost their server)
	other := <-e.bench
	_ = other
	if f := reFailedTx.FindStringSubmatch(out); f != nil && f[1] != "0" && !strings.Contains(out, "connection") {
		t.Errorf("pgbench through the surviving PgBouncer:\n%s", out)
	}
	if e.appFailed.Load() != 0 {
		t.Errorf("%d application writes failed", e.appFailed.Load())
	}
	st, err := e.appMember.Status(ctx)
	if err != nil || st.Paused || st.Switches != 0 || !strings.Contains(st.Backend, strconv.Itoa(e.src.Port)) {
		t.Errorf("application after the rollback: %+v %v", st, err)
	}
	if err := pgcluster.WaitCaughtUp(ctx, e.src, e.db); err != nil {
		t.Fatal(err)
	}
	if n := count(t, e.dst.DSN(e.db), "SELECT count(*) FROM app_events"); n < dstApp || n != count(t, e.src.DSN(e.db), "SELECT count(*) FROM app_events") {
		t.Errorf("application rows: PG 16 %d, PG 13 %d: the application must still write to PG 13 only", n, count(t, e.src.DSN(e.db), "SELECT count(*) FROM app_events"))
	}
	d := pgbouncer.New(pgbouncer.Spec{AdminDSN: e.bouncers[0].AdminDSN(), Ini: e.bouncers[0].Ini, DB: e.db})
	defer d.Close()
	if b, err := d.Backend(ctx); err != nil || !strings.Contains(b, strconv.Itoa(e.src.Port)) {
		t.Errorf("surviving PgBouncer points at %s (%v), want the source", b, err)
	}
}

// Issue 10: `pgverify switch`'s phase machine drives two PgBouncers and an
// application pool together (failover.Run with the PgBouncer and app
// drivers), PG 13 -> 16 under load: switched, no failed transaction, every
// committed row on PG 16.
func TestRunSwitchesPgBouncersAndApp(t *testing.T) {
	e := newFleet(t, 8)
	ctx := context.Background()
	drivers := e.drivers(t)
	time.Sleep(3 * time.Second)
	res, err := failover.Run(ctx, failover.Options{SourceDSN: e.src.DSN(e.db), TargetDSN: e.dst.DSN(e.db), Drivers: drivers, Expect: 3,
		Gate: failover.GateNone, Timeout: 5 * time.Second, Grace: 2 * time.Second, Watch: -1})
	if err != nil {
		t.Fatal(err)
	}
	processed, failed := e.finish(t)
	for _, s := range res.Steps {
		t.Logf("%-24s %-8s %10s %s", s.Name, s.Status, s.Duration, s.Detail)
	}
	t.Logf("outcome %s, pause %s; pgbench %d transactions, %d failed; app %d inserts, %d failed", res.Outcome, res.Pause, processed, failed, e.appCommits.Load(), e.appFailed.Load())
	for _, a := range res.Acks {
		t.Logf("%-12s %-40s %8.1f ms %s", a.Phase, a.Member, a.TookMS, a.Error)
	}
	if res.Outcome != failover.OutcomeSwitched {
		t.Fatalf("outcome %s", res.Outcome)
	}
	// Issue 10's bound for a fleet of PgBouncers is 500 ms, a median the
	// bench checks (make bench -only switch). One run here, beside other
	// packages' tests on two cores, cannot hold it: the drain waits for
	// pgbench's in-flight transactions, all queued on the one branch row
	// of scale 1, and took 370-390 ms in one such run. What the switch
	// itself adds after the drain is bounded tightly; the whole pause
	// loosely.
	var drain time.Duration
	for _, s := range res.Steps {
		if s.Phase == failover.PhasePause && s.Name == "pause" {
			drain = s.Duration
		}
	}
	t.Logf("pause %s = drain %s + the switch's own %s", res.Pause.Round(time.Millisecond), drain.Round(time.Millisecond), (res.Pause - drain).Round(time.Millisecond))
	if own := res.Pause - drain; own > 300*time.Millisecond {
		t.Errorf("the switch held writes %s after the drain, want <= 300ms", own)
	}
	if res.Pause > time.Second {
		t.Errorf("pause %s, want <= 1s", res.Pause)
	}
	if n := len(res.Acks); n != 9 {
		t.Errorf("%d acknowledgements, want pause, switch and resume from each of 3 members", n)
	}
	if failed != 0 || e.appFailed.Load() != 0 {
		t.Fatalf("failed transactions: pgbench %d, application %d", failed, e.appFailed.Load())
	}
	if n := count(t, e.dst.DSN(e.db), "SELECT count(*) FROM pgbench_history"); n != int64(processed) {
		t.Errorf("PG 16 holds %d history rows, pgbench committed %d", n, processed)
	}
	if n := count(t, e.dst.DSN(e.db), "SELECT count(*) FROM app_events"); n != e.appCommits.Load() {
		t.Errorf("PG 16 holds %d application rows, %d were committed", n, e.appCommits.Load())
	}
}

// childEnv carries a coordinator's configuration to a re-executed test
// binary (runChildCoordinator).
const childEnv = "PGVERIFY_TEST_SWITCH_CHILD"

type childConfig struct {
	Source, Target, Sub string
	Proxies             []string // admin DSNs
	Bouncers            []pgbouncer.Spec
	AppURL, AppToken    string
}

// runChildCoordinator runs a switch whose catch-up can never finish (the
// subscription is disabled once the checks pass) and says "paused" once
// every member is paused; the parent kills it there.
func runChildCoordinator(cfgJSON string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Println("config:", err)
		return 2
	}
	ctx := context.Background()
	var drivers []failover.Driver
	for _, a := range cfg.Proxies {
		c, err := proxyctl.Open(ctx, a)
		if err != nil {
			fmt.Println(err)
			return 2
		}
		drivers = append(drivers, c)
	}
	for _, b := range cfg.Bouncers {
		drivers = append(drivers, failover.PgBouncerDriver(b))
	}
	drivers = append(drivers, failover.AppDriver(cfg.AppURL, cfg.AppToken))
	opts := failover.Options{SourceDSN: cfg.Source, TargetDSN: cfg.Target, Drivers: drivers, Expect: len(drivers),
		Gate: failover.GateNone, Timeout: time.Minute, Grace: 30 * time.Second, Watch: -1}
	failover.SetBeforePause(&opts, func() {
		conn, err := pgx.Connect(ctx, cfg.Target)
		if err == nil {
			_, err = conn.Exec(ctx, "ALTER SUBSCRIPTION "+pgx.Identifier{cfg.Sub}.Sanitize()+" DISABLE")
			conn.Close(ctx)
		}
		if err != nil {
			fmt.Println("disable:", err)
		}
	})
	failover.SetAfterPause(&opts, func() { fmt.Println("paused") })
	res, err := failover.Run(ctx, opts)
	fmt.Println("not killed:", res, err)
	return 1
}

// TestFleetCoordinatorKilled: a pgverify proxy, two PgBouncers and an
// application pool paused by a coordinator that is then killed (SIGKILL):
// every member resumes on the source by itself — the proxy and the app at
// their lease, the PgBouncers at once through their lease keepers — with
// no failed transaction and every committed row on the source.
func TestFleetCoordinatorKilled(t *testing.T) {
	e := newFleet(t, 14, 2*time.Second)
	ctx := context.Background()
	p, err := proxy.New(proxy.Config{Backend: e.src.DSN(e.db), MaxPause: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tp := serveProxy(t, p)
	proxyBench := make(chan string, 1)
	go func() {
		cmd := exec.Command(pgbenchPath(t), "-n", "-c", "8", "-j", "2", "-T", "14", "-M", "extended",
			"-h", "127.0.0.1", "-p", portOf(tp.addr), "-U", "postgres", e.db)
		out, err := cmd.CombinedOutput()
		if err != nil {
			out = append(out, []byte("\n"+err.Error())...)
		}
		proxyBench <- string(out)
	}()
	time.Sleep(3 * time.Second)
	cfg := childConfig{Source: e.src.DSN(e.db), Target: e.dst.DSN(e.db), Sub: e.db, Proxies: []string{tp.adminDSN()},
		AppURL: e.appMember.URL, AppToken: e.appMember.Token}
	for _, b := range e.bouncers {
		cfg.Bouncers = append(cfg.Bouncers, pgbouncer.Spec{AdminDSN: b.AdminDSN(), Ini: b.Ini, DB: e.db})
	}
	cj, _ := json.Marshal(cfg)
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-test.run", "^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cj))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "paused\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("coordinator said %q", line)
	}
	killed := time.Now()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	t.Cleanup(func() {
		_ = e.dst.Exec(context.Background(), e.db, "ALTER SUBSCRIPTION "+pgx.Identifier{e.db}.Sanitize()+" ENABLE")
	})
	// Every member runs again on the source within its lease.
	var proxyBack, appBack time.Duration
	for proxyBack == 0 || appBack == 0 {
		if proxyBack == 0 && !p.State().Paused {
			proxyBack = time.Since(killed)
		}
		if st, err := e.appMember.Status(ctx); appBack == 0 && err == nil && !st.Paused {
			appBack = time.Since(killed)
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("members still paused 10s after the coordinator died: proxy %+v", p.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p.LeaseExpired() == "" || p.State().Generation != 0 {
		t.Errorf("the proxy resumed without its lease, or switched: %+v", p.State())
	}
	processed, failed := e.finish(t)
	pout := <-proxyBench
	m, f := reProcessedTx.FindStringSubmatch(pout), reFailedTx.FindStringSubmatch(pout)
	if m == nil || f == nil || f[1] != "0" || strings.Contains(pout, "aborted") {
		t.Fatalf("pgbench through the proxy:\n%s", pout)
	}
	pp, _ := strconv.Atoi(m[1])
	t.Logf("coordinator killed inside the pause: proxy resumed after %s, app after %s; pgbench %d+%d transactions, %d failed; app %d inserts, %d failed",
		proxyBack.Round(time.Millisecond), appBack.Round(time.Millisecond), processed, pp, failed, e.appCommits.Load(), e.appFailed.Load())
	if failed != 0 || e.appFailed.Load() != 0 {
		t.Fatalf("failed transactions: pgbench %d, application %d", failed, e.appFailed.Load())
	}
	for _, b := range e.bouncers {
		d := pgbouncer.New(pgbouncer.Spec{AdminDSN: b.AdminDSN(), Ini: b.Ini, DB: e.db})
		if be, err := d.Backend(ctx); err != nil || !strings.Contains(be, fmt.Sprint(e.src.Port)) {
			t.Errorf("PgBouncer points at %s (%v), want the source", be, err)
		}
		d.Close()
	}
	// Every committed transaction is on the source.
	if n := count(t, e.src.DSN(e.db), "SELECT count(*) FROM pgbench_history"); n != int64(processed+pp) {
		t.Errorf("PG 13 holds %d history rows, pgbench committed %d", n, processed+pp)
	}
	if n := count(t, e.src.DSN(e.db), "SELECT count(*) FROM app_events"); n != e.appCommits.Load() {
		t.Errorf("PG 13 holds %d application rows, %d were committed", n, e.appCommits.Load())
	}
}
