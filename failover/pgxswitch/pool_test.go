package pgxswitch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/pgcluster"
	"github.com/pgverify/pgverify/sequences"
)

var clusters pgcluster.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	clusters.StopAll()
	os.Exit(code)
}

func needPG(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Postgres")
	}
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

func serve(t *testing.T, p *Pool, token string) *Member {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = p.ServeControl(ctx, l, token) }()
	return &Member{URL: "http://" + l.Addr().String(), Token: token}
}

// An application with 16 goroutines writing through a pgxswitch.Pool on PG
// 13, subscribed to by PG 16; the coordinator pauses it over HTTP, waits
// for the subscriber, moves the bigserial sequence, switches and resumes:
// no write fails, every committed row is on PG 16 exactly once, no
// duplicate key, and nothing reached PG 13 after the switch.
func TestSwitchUnderWriters(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, dst := clusters.Get(t, 13), clusters.Get(t, 16)
	db := clusters.NewDB(t, src, "pgxsw")
	if err := dst.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	ddl := "CREATE TABLE events (id bigserial PRIMARY KEY, worker int NOT NULL, n int NOT NULL, UNIQUE (worker, n))"
	for _, c := range []*pgcluster.Cluster{src, dst} {
		if err := c.Exec(ctx, db, ddl); err != nil {
			t.Fatal(err)
		}
	}
	if err := pgcluster.Subscribe(ctx, src, dst, db, db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dst.Exec(context.Background(), db, "DROP SUBSCRIPTION "+db) })

	// The application's own role, the same on both clusters: a switch sends
	// no credentials, the pool keeps its own.
	role := "app_" + db
	drop, err := pgcluster.AppRole(ctx, db, role, "app-pw", src, dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	appDSN := fmt.Sprintf("postgres://%s:app-pw@127.0.0.1:%d/%s?sslmode=disable", role, src.Port, db)
	p, err := New(ctx, appDSN, Options{Lease: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := serve(t, p, "s3cret")
	if err := (&Member{URL: m.URL, Token: "wrong"}).Check(ctx); err == nil {
		t.Fatal("a wrong token was accepted")
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var committed, failed atomic.Int64
	var firstErr atomic.Value
	var worst atomic.Int64
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				err := p.WithTx(ctx, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, "INSERT INTO events (worker, n) VALUES ($1, $2)", w, n)
					return err
				})
				if d := time.Since(t0).Microseconds(); d > worst.Load() {
					worst.Store(d)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				committed.Add(1)
			}
		}()
	}
	time.Sleep(2 * time.Second)

	t0 := time.Now()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := m.Pause(pctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	cancel()
	drained := time.Since(t0)
	srcRows := scalar(t, src.DSN(db), "SELECT count(*) FROM events")
	if err := pgcluster.WaitCaughtUp(ctx, src, db); err != nil {
		t.Fatal(err)
	}
	caught := time.Since(t0)
	sc, _ := pgx.Connect(ctx, src.DSN(db))
	dc, _ := pgx.Connect(ctx, dst.DSN(db))
	if _, err := sequences.Sync(ctx, sc, dc, sequences.Options{Margin: 1000}); err != nil {
		t.Fatal(err)
	}
	sc.Close(ctx)
	dc.Close(ctx)
	if err := m.Switch(ctx, dst.DSN(db)); err != nil {
		_ = m.Resume(ctx)
		t.Fatal(err)
	}
	if err := m.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	total := time.Since(t0)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	st, _ := m.Status(ctx)
	t.Logf("drained in %s, caught up at %s, resumed at %s; %d committed, %d failed, worst transaction %d ms; status %+v",
		drained, caught, total, committed.Load(), failed.Load(), worst.Load()/1000, st)
	if failed.Load() != 0 {
		t.Fatalf("%d writes failed, first: %v", failed.Load(), firstErr.Load())
	}
	if st.Switches != 1 || !strings.Contains(st.Backend, fmt.Sprint(dst.Port)) {
		t.Errorf("status after the switch: %+v", st)
	}
	if n := scalar(t, dst.DSN(db), "SELECT count(*) FROM events"); n != committed.Load() {
		t.Errorf("PG 16 holds %d rows, %d were committed", n, committed.Load())
	}
	if n := scalar(t, src.DSN(db), "SELECT count(*) FROM events"); n != srcRows {
		t.Errorf("PG 13 got %d rows after the switch", n-srcRows)
	}
}

// The coordinator dies during the pause: the pool resumes on its cluster by
// itself when the lease runs out, and held work then runs there.
func TestLeaseResumesWithoutCoordinator(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	c := clusters.Get(t, 16)
	db := clusters.NewDB(t, c, "pgxlease")
	p, err := New(ctx, c.DSN(db), Options{Lease: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m := serve(t, p, "tok")
	if err := m.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	var one int
	if err := p.QueryRow(ctx, []any{&one}, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	waited := time.Since(t0)
	if waited < 300*time.Millisecond || waited > 5*time.Second {
		t.Errorf("held work ran after %s, want about the 500 ms lease", waited)
	}
	if st := p.Status(); st.Paused {
		t.Errorf("still paused after the lease: %+v", st)
	}
	// A switch after the lease expired is refused: the coordinator learns
	// it lost the pause, and rolls back.
	if err := m.Switch(ctx, c.DSN(db)); err == nil {
		t.Error("switch after the lease was accepted")
	}
	// A prepared switch whose commit never comes is rolled back by the
	// lease: the member stays on its cluster.
	other := clusters.NewDB(t, c, "pgxlease_other")
	if err := m.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Switch(ctx, c.DSN(other)); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); !st.Prepared {
		t.Fatalf("no prepared switch: %+v", st)
	}
	time.Sleep(800 * time.Millisecond)
	var name string
	if err := p.QueryRow(ctx, []any{&name}, "SELECT current_database()"); err != nil || name != db {
		t.Errorf("after the lease rolled back a prepared switch: on %q (%v), want %q", name, err, db)
	}
}

// A pause that cannot drain (a transaction stays open) fails within its
// deadline and resumes; the open transaction is untouched.
func TestPauseTimeoutResumes(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	c := clusters.Get(t, 16)
	db := clusters.NewDB(t, c, "pgxpto")
	p, err := New(ctx, c.DSN(db), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- p.WithTx(ctx, func(tx pgx.Tx) error { <-release; _, err := tx.Exec(ctx, "SELECT 1"); return err })
	}()
	time.Sleep(100 * time.Millisecond)
	pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err = p.Pause(pctx)
	cancel()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pause with an open transaction: %v", err)
	}
	if p.Status().Paused {
		t.Fatal("still paused after a failed pause")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the open transaction failed: %v", err)
	}
	if err := p.Switch(ctx, c.DSN(db)); !errors.Is(err, ErrNotPaused) {
		t.Errorf("switch while running: %v", err)
	}
}

func TestStripPassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5/db?sslmode=disable":     "postgres://u@h:5/db?sslmode=disable",
		"host=h port=5 user=u password=pw dbname=db": "host=h port=5 user=u dbname=db",
	} {
		if got := stripPassword(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}
