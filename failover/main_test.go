package failover_test

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
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	. "github.com/pgverify/pgverify/failover"
	"github.com/pgverify/pgverify/failover/pgbouncer"
	"github.com/pgverify/pgverify/failover/proxy"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

var clusters pgcluster.Shared

func TestMain(m *testing.M) {
	pgbouncer.RunKeeperIfAsked()
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runChildCoordinator(cfg))
	}
	code := m.Run()
	clusters.StopAll()
	os.Exit(code)
}

func needPG(t *testing.T, majors ...int) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL")
	}
	for _, m := range majors {
		if !pgcluster.Available(m) {
			t.Skipf("postgres %d not installed", m)
		}
	}
}

// testProxy is an in-process pgverify proxy with its admin console.
type testProxy struct {
	*proxy.Proxy
	addr, admin string
	stop        context.CancelFunc // closes the listeners and every session
}

func startProxy(t *testing.T, backend string) *testProxy {
	t.Helper()
	p, err := proxy.New(proxy.Config{Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	return serveProxy(t, p)
}

func portOf(addr string) string { _, port, _ := net.SplitHostPort(addr); return port }

// serveProxy serves p and its admin console on loopback until the test ends.
func serveProxy(t *testing.T, p *proxy.Proxy) *testProxy {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = p.Serve(ctx, l); done <- struct{}{} }()
	go func() { _ = p.ServeAdmin(ctx, al); done <- struct{}{} }()
	t.Cleanup(func() {
		p.Resume()
		cancel()
		for i := 0; i < 2; i++ {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("proxy did not stop")
				return
			}
		}
	})
	return &testProxy{Proxy: p, addr: l.Addr().String(), admin: al.Addr().String(), stop: cancel}
}

func (p *testProxy) adminDSN() string {
	return "postgres://postgres@" + p.admin + "/pgverify?sslmode=disable"
}

func (p *testProxy) clientDSN(db string) string {
	return "postgres://postgres@" + p.addr + "/" + db + "?sslmode=disable"
}

func pgbenchPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/lib/postgresql/15/bin/pgbench", "/usr/bin/pgbench"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	t.Skip("pgbench not installed (apt-get install postgresql-client-15)")
	return ""
}

var (
	reProcessed = regexp.MustCompile(`(?m)^number of transactions actually processed: (\d+)`)
	reFailed    = regexp.MustCompile(`(?m)^number of failed transactions: (\d+)`)
)

type benchResult struct {
	processed, failed int
	out               string
	err               error
	worst             time.Duration // worst per-transaction latency (-l logs)
	txs               []txLog
}

// txLog is one transaction of a pgbench -l log.
type txLog struct {
	end     time.Time
	latency time.Duration
}

// worstIn is the worst latency of the transactions that overlap
// [from, to], and the worst of the others.
func (b benchResult) worstIn(from, to time.Time) (in, out time.Duration) {
	for _, x := range b.txs {
		if x.end.After(from) && x.end.Add(-x.latency).Before(to) {
			in = max(in, x.latency)
		} else {
			out = max(out, x.latency)
		}
	}
	return in, out
}

// tpcbSeqScript is TPC-B plus an insert into a bigserial table.
const tpcbSeqScript = `\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
INSERT INTO seqtest (aid) VALUES (:aid);
END;
`

// pgbench runs the TPC-B + bigserial script through addr with -l logs.
func pgbench(t *testing.T, addr, password, db string, args ...string) benchResult {
	dir := t.TempDir()
	script := filepath.Join(dir, "tpcb_seq.sql")
	if err := os.WriteFile(script, []byte(tpcbSeqScript), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	all := []string{"-h", host, "-p", port, "-U", "postgres", "-n", "-f", script, "-l", "--log-prefix", filepath.Join(dir, "log")}
	all = append(append(all, args...), db)
	// A hung client must not hang the test: pgbench is killed after its run
	// plus a minute and a half (the caller reports first, at 45 s).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	for i, a := range args {
		if a == "-T" && i+1 < len(args) {
			if n, err := strconv.Atoi(args[i+1]); err == nil {
				ctx, cancel = context.WithTimeout(context.Background(), time.Duration(n)*time.Second+90*time.Second)
			}
		}
	}
	defer cancel()
	cmd := exec.CommandContext(ctx, pgbenchPath(t), all...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGSSLMODE=disable")
	outb, err := cmd.CombinedOutput()
	r := benchResult{out: string(outb), err: err, failed: -1}
	if m := reProcessed.FindStringSubmatch(r.out); m != nil {
		r.processed, _ = strconv.Atoi(m[1])
	}
	if m := reFailed.FindStringSubmatch(r.out); m != nil {
		r.failed, _ = strconv.Atoi(m[1])
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "log*"))
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// client_id transaction_no time script_no time_epoch time_us
			fs := strings.Fields(sc.Text())
			if len(fs) >= 6 {
				us, _ := strconv.ParseInt(fs[2], 10, 64)
				sec, _ := strconv.ParseInt(fs[4], 10, 64)
				usec, _ := strconv.ParseInt(fs[5], 10, 64)
				d := time.Duration(us) * time.Microsecond
				r.worst = max(r.worst, d)
				r.txs = append(r.txs, txLog{end: time.Unix(sec, usec*1000), latency: d})
			}
		}
		f.Close()
	}
	return r
}

func runPgbenchInit(t *testing.T, c *pgcluster.Cluster, db string, steps string) {
	t.Helper()
	cmd := exec.Command(pgbenchPath(t), "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres", "-i", "-q", "-s", "1", "-I", steps, db)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+c.Password, "PGSSLMODE=disable")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
}

// pair is a PG 13 source replicated to a PG 16 target with pgbench tables.
type pair struct {
	src, tgt *pgcluster.Cluster
	db       string
}

const seqTable = "CREATE TABLE seqtest (id bigserial PRIMARY KEY, aid int NOT NULL)"

func newPair(t *testing.T) *pair {
	t.Helper()
	needPG(t, 13, 16)
	pgbenchPath(t)
	ctx := context.Background()
	src, tgt := clusters.Get(t, 13), clusters.Get(t, 16)
	db := clusters.NewDB(t, src, "sw")
	if err := tgt.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	runPgbenchInit(t, src, db, "dtgvp")
	runPgbenchInit(t, tgt, db, "dtp")
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		// A key on history, so the live tables gate can re-check its rows.
		if err := c.Exec(ctx, db, seqTable+"; ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY"); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Exec(ctx, db, "INSERT INTO seqtest (aid) SELECT g FROM generate_series(1, 500) g"); err != nil {
		t.Fatal(err)
	}
	if err := pgcluster.Subscribe(ctx, src, tgt, db, "fwd_"+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		// Subscriptions hold slots on the other cluster: drop them so the
		// shared clusters stay clean for other tests.
		_ = src.Exec(ctx, db, "DROP SUBSCRIPTION IF EXISTS "+ReverseName)
		_ = tgt.Exec(ctx, db, "DROP SUBSCRIPTION IF EXISTS "+pgx.Identifier{"fwd_" + db}.Sanitize())
	})
	return &pair{src: src, tgt: tgt, db: db}
}

func queryInt(t *testing.T, c *pgcluster.Cluster, db, sql string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := c.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// checkTPCB checks the TPC-B invariants and the bigserial table on c.
func checkTPCB(t *testing.T, c *pgcluster.Cluster, db string, processed int) {
	t.Helper()
	hist := queryInt(t, c, db, "SELECT count(*) FROM pgbench_history")
	if hist != int64(processed) {
		t.Errorf("pgbench_history on %d has %d rows, pgbench processed %d transactions", c.Major, hist, processed)
	}
	sums := []string{"SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts", "SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers",
		"SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches", "SELECT coalesce(sum(delta), 0) FROM pgbench_history"}
	var vals []int64
	for _, q := range sums {
		vals = append(vals, queryInt(t, c, db, q))
	}
	if vals[0] != vals[1] || vals[1] != vals[2] || vals[2] != vals[3] {
		t.Errorf("TPC-B invariants broken on %d: accounts %d, tellers %d, branches %d, history %d", c.Major, vals[0], vals[1], vals[2], vals[3])
	}
	seq := queryInt(t, c, db, "SELECT count(*) FROM seqtest")
	if seq != int64(processed)+500 {
		t.Errorf("seqtest on %d has %d rows, want %d", c.Major, seq, processed+500)
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

var _ = fmt.Sprint
