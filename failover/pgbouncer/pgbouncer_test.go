package pgbouncer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

var clusters pgcluster.Shared

func TestMain(m *testing.M) {
	RunKeeperIfAsked()
	if spec := os.Getenv("PGVERIFY_TEST_COORDINATOR"); spec != "" {
		// Re-executed as a coordinator that pauses, switches and then hangs
		// until it is killed.
		s, _ := ParseSpec(spec)
		d := New(s)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := d.Pause(ctx); err != nil {
			fmt.Println("pause:", err)
			os.Exit(1)
		}
		if err := d.Switch(ctx, os.Getenv("PGVERIFY_TEST_COORDINATOR_TARGET")); err != nil {
			fmt.Println("switch:", err)
			os.Exit(1)
		}
		fmt.Println("switched")
		select {}
	}
	if spec := os.Getenv("PGVERIFY_TEST_BOUNCER_CHECK"); spec != "" {
		// Re-executed as an unprivileged user: run Check and print its error.
		s, _ := ParseSpec(spec)
		d := New(s)
		if err := d.Check(context.Background()); err != nil {
			fmt.Println(err)
		}
		d.Close()
		os.Exit(0)
	}
	code := m.Run()
	clusters.StopAll()
	os.Exit(code)
}

func TestRewriteDatabaseKeepsEverythingElse(t *testing.T) {
	ini := "; top comment\r\n[databases]\n; app goes to the old cluster\napp = host=old.internal port=5432 dbname=app user=svc pool_size=20\nother=host=x dbname=o\n\"my db\" = dbname='a b'  host = h \n\n[pgbouncer]\nlisten_port = 6432\napp = not a database\n"
	out, err := RewriteDatabase([]byte(ini), "app", "10.0.0.7", 5433, "app")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(ini, "host=old.internal port=5432", "host=10.0.0.7 port=5433", 1)
	if string(out) != want {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}
	out, err = RewriteDatabase([]byte(ini), "other", "n", 7, "o2")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(ini, "other=host=x dbname=o\n", "other=host=n dbname=o2 port=7\n", 1); string(out) != want {
		t.Fatalf("appending a missing key:\n%q", out)
	}
	out, err = RewriteDatabase([]byte(ini), "my db", "it's here", 1, "d")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"my db" = dbname=d  host = 'it\'s here' port=1 `)) {
		t.Fatalf("quoted name and value:\n%q", out)
	}
	if _, err := RewriteDatabase([]byte(ini), "nope", "h", 1, "d"); err == nil {
		t.Fatal("an unknown database was accepted")
	}
	if _, err := RewriteDatabase([]byte("[databases]\napp = host='unterminated\n"), "app", "h", 1, "d"); err == nil {
		t.Fatal("an unterminated quote was accepted")
	}
}

func TestParseSpec(t *testing.T) {
	s, err := ParseSpec("postgres://a@h:6432/pgbouncer;ini=/etc/pgbouncer/pgbouncer.ini;db=app")
	if err != nil || s.Ini != "/etc/pgbouncer/pgbouncer.ini" || s.DB != "app" {
		t.Fatalf("%+v %v", s, err)
	}
	for _, bad := range []string{"", "dsn", "dsn;db=app", "dsn;ini=x", "dsn;ini=x;db=a;switch-cmd=y", "dsn;what=1;db=a;ini=x", "dsn;db"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}

func needPG(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Postgres and PgBouncer")
	}
	if _, err := pgcluster.PgBouncerBinary(); err != nil {
		t.Skipf("%v", err) // make test installs it; loud when it could not
	}
}

func pgbenchBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	t.Skip("pgbench not installed: run make tools (apt-get install -y postgresql-client-15)")
	return ""
}

type benchResult struct {
	processed, failed int
	out               string
}

var (
	reProcessed = regexp.MustCompile(`number of transactions actually processed: (\d+)`)
	reFailed    = regexp.MustCompile(`number of failed transactions: (\d+)`)
)

// pgbench runs TPC-B through dsn's host and port.
func pgbench(ctx context.Context, t *testing.T, port int, user, password, db string, args ...string) (benchResult, error) {
	cmd := exec.CommandContext(ctx, pgbenchBin(t), append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", user}, append(args, db)...)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	out, err := cmd.CombinedOutput()
	r := benchResult{out: string(out)}
	if m := reProcessed.FindStringSubmatch(r.out); m != nil {
		r.processed, _ = strconv.Atoi(m[1])
	}
	if m := reFailed.FindStringSubmatch(r.out); m != nil {
		r.failed, _ = strconv.Atoi(m[1])
	}
	return r, err
}

func scalar(t *testing.T, dsn, q string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// A PgBouncer in transaction mode in front of PG 13, pgbench TPC-B through
// it, and PAUSE / switch to PG 16 (subscribed to PG 13) / RESUME in the
// middle: no failed transaction, every committed transaction on PG 16, the
// TPC-B invariants hold there, and nothing reached PG 13 after the switch.
// bouncerPair is PG 13 (pgbench scale 1) replicated to PG 16 (schema only)
// behind a PgBouncer in transaction mode, with a role of the same password
// on both.
func bouncerPair(t *testing.T) (src, dst *pgcluster.Cluster, db string, bouncer *pgcluster.PgBouncer) {
	t.Helper()
	needPG(t)
	ctx := context.Background()
	src, dst = clusters.Get(t, 13), clusters.Get(t, 16)
	db = clusters.NewDB(t, src, "bouncer")
	if err := dst.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	init := exec.Command(pgbenchBin(t), "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-p", strconv.Itoa(src.Port), "-U", "postgres", db)
	init.Env = append(os.Environ(), "PGPASSWORD="+src.Password)
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	initT := exec.Command(pgbenchBin(t), "-i", "-q", "-I", "dtp", "-h", "127.0.0.1", "-p", strconv.Itoa(dst.Port), "-U", "postgres", db)
	initT.Env = append(os.Environ(), "PGPASSWORD="+dst.Password)
	if out, err := initT.CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i on the target: %v\n%s", err, out)
	}
	if err := pgcluster.Subscribe(ctx, src, dst, db, db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dst.Exec(context.Background(), db, "DROP SUBSCRIPTION "+db) })
	// PgBouncer logs in to whichever cluster is current with the userlist's
	// password: the role must exist with the same password on both.
	role := "app_" + db
	drop, err := pgcluster.AppRole(ctx, db, role, "same-on-both", src, dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	bouncer, err = pgcluster.StartPgBouncer(ctx, src, pgcluster.PgBouncerOptions{DB: db, Users: map[string]string{role: "same-on-both"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bouncer.Stop() })
	return src, dst, db, bouncer
}

// benchThrough runs 8 s of pgbench TPC-B (8 clients, extended) through
// the PgBouncer; its result arrives on the channel.
func benchThrough(ctx context.Context, t *testing.T, bouncer *pgcluster.PgBouncer, db string) <-chan benchResult {
	done := make(chan benchResult, 1)
	go func() {
		r, err := pgbench(ctx, t, bouncer.Port, bouncer.User, bouncer.Password, db, "-n", "-c", "8", "-j", "2", "-T", "8", "-M", "extended")
		if err != nil {
			r.out += "\n" + err.Error()
		}
		done <- r
	}()
	return done
}

func TestPauseSwitchResumeUnderPgbench(t *testing.T) {
	ctx := context.Background()
	src, dst, db, bouncer := bouncerPair(t)
	d := New(Spec{AdminDSN: bouncer.AdminDSN(), Ini: bouncer.Ini, DB: db})
	defer d.Close()
	if err := d.Check(ctx); err != nil {
		t.Fatal(err)
	}

	done := benchThrough(ctx, t, bouncer, db)
	time.Sleep(3 * time.Second)
	t0 := time.Now()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := d.Pause(pctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	cancel()
	paused := time.Since(t0)
	srcHistory := scalar(t, src.DSN(db), "SELECT count(*) FROM pgbench_history")
	if err := pgcluster.WaitCaughtUp(ctx, src, db); err != nil {
		t.Fatal(err)
	}
	caught := time.Since(t0)
	if err := d.Switch(ctx, dst.DSN(db)); err != nil {
		_ = d.Resume(ctx)
		t.Fatal(err)
	}
	if err := d.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	total := time.Since(t0)
	r := <-done
	t.Logf("PAUSE drained in %s, caught up at %s, switched and resumed at %s; %d transactions, %d failed", paused, caught, total, r.processed, r.failed)
	if r.failed != 0 || r.processed == 0 || strings.Contains(r.out, "aborted") {
		t.Fatalf("pgbench through the switch:\n%s", r.out)
	}
	if backend, _ := d.Backend(ctx); backend != fmt.Sprintf("127.0.0.1:%d/%s", dst.Port, db) {
		t.Errorf("backend after the switch: %s", backend)
	}
	if n := scalar(t, dst.DSN(db), "SELECT count(*) FROM pgbench_history"); n != int64(r.processed) {
		t.Errorf("PG 16 holds %d history rows, pgbench committed %d", n, r.processed)
	}
	if n := scalar(t, src.DSN(db), "SELECT count(*) FROM pgbench_history"); n != srcHistory {
		t.Errorf("PG 13 got %d history rows after the switch", n-srcHistory)
	}
	sums := []int64{
		scalar(t, dst.DSN(db), "SELECT sum(abalance) FROM pgbench_accounts"),
		scalar(t, dst.DSN(db), "SELECT sum(tbalance) FROM pgbench_tellers"),
		scalar(t, dst.DSN(db), "SELECT sum(bbalance) FROM pgbench_branches"),
		scalar(t, dst.DSN(db), "SELECT sum(delta) FROM pgbench_history"),
	}
	if sums[0] != sums[1] || sums[1] != sums[2] || sums[2] != sums[3] {
		t.Errorf("TPC-B invariants broken on PG 16: accounts %d, tellers %d, branches %d, history %d", sums[0], sums[1], sums[2], sums[3])
	}
}

// PAUSE cannot complete while a transaction stays open: after the deadline
// the driver resumes, the PgBouncer serves again, and the hung PAUSE does
// not come back to pause it later.
func TestPauseTimeoutResumes(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	c := clusters.Get(t, 16)
	db := clusters.NewDB(t, c, "bouncerto")
	bouncer, err := pgcluster.StartPgBouncer(ctx, c, pgcluster.PgBouncerOptions{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer bouncer.Stop()
	d := New(Spec{AdminDSN: bouncer.AdminDSN(), Ini: bouncer.Ini, DB: db})
	defer d.Close()
	long, err := pgx.Connect(ctx, bouncer.DSN(db)+"&default_query_exec_mode=simple_protocol")
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close(ctx)
	if _, err := long.Exec(ctx, "BEGIN; SELECT 1"); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = d.Pause(pctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "resumed") {
		t.Fatalf("pause with an open transaction: %v", err)
	}
	if _, err := long.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, bouncer.DSN(db)+"&default_query_exec_mode=simple_protocol")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	qctx, qcancel := context.WithTimeout(ctx, 3*time.Second)
	defer qcancel()
	var one int
	if err := other.QueryRow(qctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("PgBouncer does not serve after the timed-out pause: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := other.QueryRow(qctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("the timed-out PAUSE paused later: %v", err)
	}
}

// Check refuses what would stall a switch: session pooling, an ini the
// switch cannot rewrite, a database the PgBouncer does not have.
func TestCheckRefuses(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	c := clusters.Get(t, 16)
	db := clusters.NewDB(t, c, "bouncerchk")
	sess, err := pgcluster.StartPgBouncer(ctx, c, pgcluster.PgBouncerOptions{DB: db, PoolMode: "session"})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Stop()
	d := New(Spec{AdminDSN: sess.AdminDSN(), Ini: sess.Ini, DB: db})
	defer d.Close()
	if err := d.Check(ctx); err == nil || !strings.Contains(err.Error(), "session") {
		t.Errorf("session pool mode: %v", err)
	}
	tx, err := pgcluster.StartPgBouncer(ctx, c, pgcluster.PgBouncerOptions{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Stop()
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{AdminDSN: tx.AdminDSN(), Ini: tx.Ini, DB: "nope"}, "no database"},
		{Spec{AdminDSN: "postgres://postgres@127.0.0.1:1/pgbouncer", Ini: tx.Ini, DB: db}, "cannot reach"},
	} {
		d := New(tc.spec)
		err := d.Check(ctx)
		d.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.spec.DB, err, tc.want)
		}
	}
	// An ini the switch could not rewrite: refused before anything pauses.
	roDir, err := os.MkdirTemp("", "pgverify-roini-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(roDir, 0o755); os.RemoveAll(roDir) })
	roIni := roDir + "/pgbouncer.ini"
	data, err := os.ReadFile(tx.Ini)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(roIni, data, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(roDir, 0o555); err != nil {
		t.Fatal(err)
	}
	spec := tx.AdminDSN() + ";ini=" + roIni + ";db=" + db
	var msg string
	if os.Geteuid() == 0 {
		// Root writes anywhere: check as the unprivileged postgres user.
		// The test binary sits in a root-only build directory: copy it.
		exe, _ := os.Executable()
		bin, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		binDir, err := os.MkdirTemp("", "pgverify-testbin-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(binDir)
		os.Chmod(binDir, 0o755)
		exe = binDir + "/check.test"
		if err := os.WriteFile(exe, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run", "^$")
		cmd.Env = append(os.Environ(), "PGVERIFY_TEST_BOUNCER_CHECK="+spec)
		cmd.SysProcAttr = pgcluster.UnprivilegedAttr()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		msg = string(out)
	} else {
		s, _ := ParseSpec(spec)
		d := New(s)
		if err := d.Check(ctx); err != nil {
			msg = err.Error()
		}
		d.Close()
	}
	if !strings.Contains(msg, "cannot be rewritten") {
		t.Errorf("unwritable ini: %q", msg)
	}
	// Clients lists this database's clients.
	d2 := New(Spec{AdminDSN: tx.AdminDSN(), Ini: tx.Ini, DB: db})
	defer d2.Close()
	conn, err := pgx.Connect(ctx, tx.DSN(db)+"&default_query_exec_mode=simple_protocol&application_name=probe")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	cl, err := d2.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var apps []string
	for _, c := range cl {
		apps = append(apps, c.ApplicationName)
	}
	sort.Strings(apps)
	if len(apps) != 1 || apps[0] != "probe" {
		t.Errorf("clients %v", apps)
	}
}

// TestCoordinatorKilledDuringPause: a coordinator killed after PAUSE and
// the ini rewrite leaves the database neither paused nor on the new
// cluster: the lease keeper points it back and resumes it at once, and
// pgbench loses nothing.
func TestCoordinatorKilledDuringPause(t *testing.T) {
	ctx := context.Background()
	src, dst, db, bouncer := bouncerPair(t)
	before, err := os.ReadFile(bouncer.Ini)
	if err != nil {
		t.Fatal(err)
	}
	done := benchThrough(ctx, t, bouncer, db)
	time.Sleep(2 * time.Second)
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-test.run", "^$")
	cmd.Env = append(os.Environ(), "PGVERIFY_TEST_COORDINATOR="+bouncer.AdminDSN()+";ini="+bouncer.Ini+";db="+db,
		"PGVERIFY_TEST_COORDINATOR_TARGET="+dst.DSN(db))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "switched\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("coordinator: %q", line)
	}
	d := New(Spec{AdminDSN: bouncer.AdminDSN(), Ini: bouncer.Ini, DB: db})
	defer d.Close()
	if b, _ := d.Backend(ctx); b != fmt.Sprintf("127.0.0.1:%d/%s", dst.Port, db) {
		t.Fatalf("the coordinator switched the database to %s", b)
	}
	killed := time.Now()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	// The keeper points the database back and resumes it.
	want := fmt.Sprintf("127.0.0.1:%d/%s", src.Port, db)
	var back time.Duration
	for {
		if b, _ := d.Backend(ctx); b == want {
			back = time.Since(killed)
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatal("the database was not pointed back within 10s of the coordinator's death")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := <-done
	t.Logf("pointed back %s after the coordinator was killed; pgbench %d transactions, %d failed", back.Round(time.Millisecond), r.processed, r.failed)
	if r.failed != 0 || r.processed == 0 || strings.Contains(r.out, "aborted") {
		t.Fatalf("pgbench through the coordinator's death:\n%s", r.out)
	}
	after, _ := os.ReadFile(bouncer.Ini)
	if !bytes.Equal(before, after) {
		t.Errorf("the ini after the keeper restored it differs:\n%s\nwant\n%s", after, before)
	}
	if err := pgcluster.WaitCaughtUp(ctx, src, db); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*pgcluster.Cluster{src, dst} {
		// Every transaction ran on PG 13 (PG 16 has them by replication only).
		if n := scalar(t, c.DSN(db), "SELECT count(*) FROM pgbench_history"); n != int64(r.processed) {
			t.Errorf("PG %d holds %d history rows, pgbench committed %d", c.Major, n, r.processed)
		}
	}
}
