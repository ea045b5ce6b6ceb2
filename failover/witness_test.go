package failover_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	. "github.com/pgverify/pgverify/failover"
)

// writeLoop commits one INSERT every millisecond on conn until the test
// ends, counting the commits; it stands for a busy neighbour (another
// database of the cluster) or a client that bypasses the proxies.
func writeLoop(t *testing.T, dsn, setup, insert string) *atomic.Int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if setup != "" {
		if _, err := conn.Exec(ctx, setup); err != nil {
			t.Fatal(err)
		}
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if _, err := conn.Exec(ctx, insert); err != nil {
				if ctx.Err() == nil {
					t.Errorf("writer: %v", err)
				}
				return
			}
			n.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		conn.Close(context.Background())
	})
	return &n
}

// TestSwitchBusyNeighbourDatabase: another database on the source cluster
// takes transaction ids all through the pause. The cluster-wide xid
// counter moves, the witness slot shows no published table changed, and
// the switch goes through with every row on the target.
func TestSwitchBusyNeighbourDatabase(t *testing.T) {
	var writes *atomic.Int64
	pr, res, b := benchSwitch(t, 4, 10*time.Second, "prepared", func(o *Options, pr *pair, p *testProxy) {
		o.Gate = GateNone // the fence is under test; keep the pause inside the run
		other := clusters.NewDB(t, pr.src, "neighbour")
		writes = writeLoop(t, pr.src.DSN(other)+"&application_name=neighbour", "CREATE TABLE busy (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())",
			"INSERT INTO busy DEFAULT VALUES")
	})
	if res.Outcome != OutcomeSwitched {
		t.Fatalf("outcome %s at %q: %s, want switched", res.Outcome, res.FailedStep, res.Reason)
	}
	var witnessed, created bool
	for _, s := range res.Steps {
		if s.Name == "fence witness" && s.Status == StepOK && strings.Contains(s.Detail, "(test_decoding)") {
			created = true
		}
		if s.Name == "catch-up" && strings.Contains(s.Detail, "none changed a table of this database") {
			witnessed = true
		}
	}
	if !created {
		t.Error("no test_decoding fence witness slot was created")
	}
	if !witnessed {
		t.Error("the neighbour's writes never moved the xid between fence and marker: the test proves nothing")
	}
	if writes.Load() == 0 {
		t.Error("the neighbour wrote nothing")
	}
	checkTPCB(t, pr.tgt, pr.db, b.processed)
	t.Logf("NEIGHBOUR: %d neighbour commits; pause %s, 0 failed", writes.Load(), res.Pause.Round(time.Millisecond))
	// The slot went with its session.
	if n := queryInt(t, pr.src, pr.db, "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name LIKE 'pgverify_fence_%'"); n != 0 {
		t.Errorf("%d witness slot(s) left on the source", n)
	}
}

// TestSwitchRollbackFastBypassWriter: a client outside the proxies that
// commits short transactions (never caught holding an xid) is found by
// the witness, and the switch rolls back with every row on the source.
func TestSwitchRollbackFastBypassWriter(t *testing.T) {
	var writes *atomic.Int64
	pr, res, b := benchSwitch(t, 4, 10*time.Second, "prepared", func(o *Options, pr *pair, p *testProxy) {
		o.Gate = GateNone // the fence is under test; keep the pause inside the run
		SetBeforePause(o, func() {
			writes = writeLoop(t, pr.src.DSN(pr.db)+"&application_name=bypass", "", "INSERT INTO seqtest (aid) VALUES (0)")
		})
	})
	if res.Outcome != OutcomeRolledBack || (res.FailedStep != "fence" && res.FailedStep != "catch-up") {
		t.Fatalf("outcome %s at %q: %s, want rolled_back at the fence or catch-up", res.Outcome, res.FailedStep, res.Reason)
	}
	if res.FailedStep == "catch-up" && !strings.Contains(res.Reason, "public.seqtest") && !strings.Contains(res.Reason, "bypass") {
		t.Errorf("reason does not name the table written: %s", res.Reason)
	}
	// Stop the writer, then count: every pgbench transaction and every
	// bypass commit is on the source.
	time.Sleep(50 * time.Millisecond)
	hist := queryInt(t, pr.src, pr.db, "SELECT count(*) FROM pgbench_history")
	if hist != int64(b.processed) {
		t.Errorf("pgbench_history has %d rows, pgbench processed %d", hist, b.processed)
	}
	if n := queryInt(t, pr.src, pr.db, "SELECT count(*) FROM seqtest WHERE aid = 0"); n < 1 {
		t.Errorf("%d bypass rows on the source, the writer committed %d", n, writes.Load())
	}
}

// TestSwitchRefusesOtherDatabaseClients: a proxy passes each client's
// database name on, so a client of a database the switch does not
// replicate would be moved unverified. The switch refuses before pausing.
func TestSwitchRefusesOtherDatabaseClients(t *testing.T) {
	pr := newPair(t)
	other := clusters.NewDB(t, pr.src, "elsewhere")
	p := startProxy(t, pr.src.DSN(pr.db))
	con := openConsole(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, db := range []string{pr.db, other} {
		c, err := pgx.Connect(ctx, p.clientDSN(db))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
	}
	opts := switchOpts(pr, con)
	opts.Gate = GateNone
	res, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, res)
	if res.Outcome != OutcomeAborted || res.FailedStep != "target connections" || !strings.Contains(res.Reason, `1 client(s) of database "`+other+`"`) {
		t.Fatalf("outcome %s at %q: %s; want aborted at target connections naming %s", res.Outcome, res.FailedStep, res.Reason, other)
	}
	if res.Pause != 0 {
		t.Errorf("paused %s before refusing", res.Pause)
	}
}

// TestSwitchAfterInterruptedPause: a coordinator that died inside the
// pause after the reverse step leaves the forward subscription disabled
// and pgverify_reverse on both clusters. The next switch refuses with the
// three statements that undo it, and is ready once they have run.
func TestSwitchAfterInterruptedPause(t *testing.T) {
	pr := newPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fwd := pgx.Identifier{"fwd_" + pr.db}.Sanitize()
	if err := pr.tgt.Exec(ctx, pr.db, "ALTER SUBSCRIPTION "+fwd+" DISABLE; CREATE PUBLICATION pgverify_reverse FOR ALL TABLES"); err != nil {
		t.Fatal(err)
	}
	// CREATE SUBSCRIPTION takes no parameters: the server quotes the
	// conninfo, as the switch's reverse step does.
	sc, err := pr.src.Connect(ctx, pr.db)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close(context.Background())
	var stmt string
	if err := sc.QueryRow(ctx, "SELECT format('CREATE SUBSCRIPTION pgverify_reverse CONNECTION %L PUBLICATION pgverify_reverse WITH (copy_data = false)', $1::text)",
		pr.tgt.ConnInfo(pr.db)).Scan(&stmt); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Exec(ctx, stmt); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, pr.src.DSN(pr.db))
	con := openConsole(t, p)
	opts := switchOpts(pr, con)
	opts.Gate, opts.DryRun = GateNone, true
	res, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	logSteps(t, res)
	want := []string{"ALTER SUBSCRIPTION " + fwd + " ENABLE on the target", `DROP SUBSCRIPTION "pgverify_reverse" on the source`, `DROP PUBLICATION "pgverify_reverse" on the target`}
	if res.Outcome != OutcomeAborted || res.FailedStep != "link" {
		t.Fatalf("outcome %s at %q: %s; want aborted at link", res.Outcome, res.FailedStep, res.Reason)
	}
	for _, w := range want {
		if !strings.Contains(res.Reason, w) {
			t.Errorf("reason lacks %q: %s", w, res.Reason)
		}
	}
	// Run what it says.
	if err := pr.tgt.Exec(ctx, pr.db, "ALTER SUBSCRIPTION "+fwd+" ENABLE"); err != nil {
		t.Fatal(err)
	}
	if err := pr.src.Exec(ctx, pr.db, `DROP SUBSCRIPTION "pgverify_reverse"`); err != nil {
		t.Fatal(err)
	}
	if err := pr.tgt.Exec(ctx, pr.db, `DROP PUBLICATION "pgverify_reverse"`); err != nil {
		t.Fatal(err)
	}
	// The forward walsender comes back within a few seconds.
	var last *Result
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if last, err = Run(ctx, opts); err != nil {
			t.Fatal(err)
		}
		if last.Outcome == OutcomeReady {
			return
		}
	}
	logSteps(t, last)
	t.Fatalf("not ready after the fix: %s at %q: %s", last.Outcome, last.FailedStep, last.Reason)
}
