package watermark

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

// One PG 13 source and one PG 16 target for the package; each test gets
// fresh databases and its own subscription.
var (
	src, dst   *pgcluster.Cluster
	startErr   error
	dbCounter  atomic.Int64
	testSchema = `
CREATE TABLE public.transactions (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    amount numeric NOT NULL DEFAULT 1
);
CREATE INDEX ON public.transactions (created_at);
CREATE TABLE public.events (id bigint NOT NULL, v text) PARTITION BY RANGE (id);
CREATE TABLE public.events_1 PARTITION OF public.events FOR VALUES FROM (0) TO (1000);
CREATE TABLE public.events_2 PARTITION OF public.events FOR VALUES FROM (1000) TO (MAXVALUE);
CREATE TABLE public.shapes (id int PRIMARY KEY, p point, label text);
`
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	ctx := context.Background()
	if src, startErr = pgcluster.Start(ctx, pgcluster.Options{Major: 13, Name: "wmsrc"}); startErr == nil {
		defer src.Stop()
		if dst, startErr = pgcluster.Start(ctx, pgcluster.Options{Major: 16, Name: "wmdst"}); startErr == nil {
			defer dst.Stop()
		}
	}
	return m.Run()
}

type env struct {
	t  *testing.T
	db string
}

// setup creates the schema on both sides, loads rows on the source and
// subscribes the target.
func setup(t *testing.T) env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Postgres")
	}
	if startErr != nil {
		t.Fatalf("starting clusters: %v", startErr)
	}
	ctx := context.Background()
	e := env{t: t, db: fmt.Sprintf("wm%d", dbCounter.Add(1))}
	for _, c := range []*pgcluster.Cluster{src, dst} {
		if err := c.CreateDB(ctx, e.db); err != nil {
			t.Fatal(err)
		}
		if err := c.Exec(ctx, e.db, testSchema); err != nil {
			t.Fatal(err)
		}
	}
	e.src(`INSERT INTO public.transactions (created_at) SELECT timestamp '2024-01-01' + g * interval '1 second' FROM generate_series(1, 1000) g;
		INSERT INTO public.events SELECT g, 'e' || g FROM generate_series(1, 1500) g;
		INSERT INTO public.shapes VALUES (1, point(1,2), 'x')`)
	if err := pgcluster.Subscribe(ctx, src, dst, e.db, "wm_"+e.db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Drop the subscription so the source's slot does not linger.
		_ = dst.Exec(context.Background(), e.db, "ALTER SUBSCRIPTION "+pgx.Identifier{"wm_" + e.db}.Sanitize()+" DISABLE; ALTER SUBSCRIPTION "+
			pgx.Identifier{"wm_" + e.db}.Sanitize()+" SET (slot_name = NONE); DROP SUBSCRIPTION "+pgx.Identifier{"wm_" + e.db}.Sanitize())
		_ = src.Exec(context.Background(), "postgres", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'wm_"+e.db+"' AND NOT active")
	})
	return e
}

func (e env) src(sql string) {
	e.t.Helper()
	if err := src.Exec(context.Background(), e.db, sql); err != nil {
		e.t.Fatalf("source: %v", err)
	}
}

func (e env) dst(sql string) {
	e.t.Helper()
	if err := dst.Exec(context.Background(), e.db, sql); err != nil {
		e.t.Fatalf("target: %v", err)
	}
}

func (e env) disableSubscription() {
	e.t.Helper()
	e.dst("ALTER SUBSCRIPTION " + pgx.Identifier{"wm_" + e.db}.Sanitize() + " DISABLE")
	// Wait until the source sees the slot released.
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		conn, err := src.Connect(ctx, e.db)
		if err != nil {
			e.t.Fatal(err)
		}
		var active bool
		err = conn.QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", "wm_"+e.db).Scan(&active)
		conn.Close(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if !active {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatal("slot still active after disabling the subscription")
}

// conns opens read-only guarded sessions, as the CLI does.
func (e env) conns() (*pgx.Conn, *pgx.Conn) {
	e.t.Helper()
	ctx := context.Background()
	s, err := dbconn.Connect(ctx, src.DSN(e.db), dbconn.Options{Role: "source", ReadOnly: true})
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := dbconn.Connect(ctx, dst.DSN(e.db), dbconn.Options{Role: "target", ReadOnly: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close(ctx); d.Close(ctx) })
	return s, d
}

func (e env) run(opts Options) (*Result, error) {
	s, d := e.conns()
	return Run(context.Background(), s, d, opts)
}

func one(t *testing.T, r *Result, table, column string) TableResult {
	t.Helper()
	for _, tr := range r.Tables {
		if tr.Table == table && tr.Column == column {
			return tr
		}
	}
	t.Fatalf("no result for %s.%s in %+v", table, column, r.Tables)
	return TableResult{}
}

func TestMatchWhileInserting(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	// Two writers insert in small transactions for about a second, so that
	// transactions are in flight (and commit out of id order) while the
	// watermark is read. They stop on their own: bounded.
	var wg sync.WaitGroup
	var inserted atomic.Int64
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := src.Connect(ctx, e.db)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close(ctx)
			end := time.Now().Add(time.Second)
			for time.Now().Before(end) {
				if _, err := conn.Exec(ctx, "INSERT INTO public.transactions DEFAULT VALUES; SELECT pg_sleep(0.002); INSERT INTO public.transactions DEFAULT VALUES"); err != nil {
					t.Error(err)
					return
				}
				inserted.Add(2)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	var progress atomic.Int64
	r, err := e.run(Options{
		Checks: []Check{
			{Table: "public.transactions", Column: "id"},
			{Table: "public.transactions", Column: "created_at"},
			{Table: "public.events", Column: "id"},
		},
		Timeout:  30 * time.Second,
		Progress: func(Progress) { progress.Add(1) },
	})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if inserted.Load() < 10 {
		t.Fatalf("the writers inserted only %d rows", inserted.Load())
	}
	if len(r.Tables) != 3 || r.SourceLSN == "" {
		t.Fatalf("result %+v", r)
	}
	if len(r.Slots) != 1 || r.Slots[0] != "wm_"+e.db {
		t.Errorf("tracked slots %v", r.Slots)
	}
	for _, tr := range r.Tables {
		if tr.Status != Match || tr.TargetRows == nil || *tr.TargetRows != tr.SourceRows || tr.Watermark == nil {
			t.Errorf("%s.%s: %s %s source=%d target=%v", tr.Table, tr.Column, tr.Status, tr.Detail, tr.SourceRows, tr.TargetRows)
		}
		if tr.Confirmation != "slot" {
			t.Errorf("%s.%s confirmed by %q", tr.Table, tr.Column, tr.Confirmation)
		}
	}
	tx := one(t, r, "public.transactions", "id")
	if tx.SourceRows < 1000 {
		t.Errorf("source rows %d", tx.SourceRows)
	}
	ev := one(t, r, "public.events", "id")
	if *ev.Watermark != "1500" || ev.SourceRows != 1500 {
		t.Errorf("events (partitioned, counted through its root): %v %d", *ev.Watermark, ev.SourceRows)
	}
	ts := one(t, r, "public.transactions", "created_at")
	if !strings.HasSuffix(*ts.Watermark, "+00") || ts.Type != "timestamp with time zone" {
		t.Errorf("timestamp watermark %q (%s)", *ts.Watermark, ts.Type)
	}
	for _, tr := range r.Tables {
		t.Logf("%s.%s initial=%d final=%d target=%d notes=%q", tr.Table, tr.Column, tr.InitialSourceRows, tr.SourceRows, *tr.TargetRows, tr.Notes)
		if len(tr.Warnings) != 0 {
			t.Errorf("%s.%s warned: %q", tr.Table, tr.Column, tr.Warnings)
		}
	}
	if progress.Load() == 0 {
		t.Error("no progress events")
	}
	if s := r.Summary(); s.Match != 3 || s.Total != 3 {
		t.Errorf("summary %+v", s)
	}
}

// A transaction in flight when the watermark is read commits a row below it
// afterwards: the target then holds one row more than the snapshot counted.
// That is not a loss; the source is counted again and the counts agree.
func TestInFlightTransactionIsNotAMismatch(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	conn, err := src.Connect(ctx, e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "INSERT INTO public.transactions DEFAULT VALUES"); err != nil { // id 1001, uncommitted
		t.Fatal(err)
	}
	e.src("INSERT INTO public.transactions DEFAULT VALUES") // id 1002, committed: the watermark
	afterSnapshotHook = func() {
		if err := tx.Commit(ctx); err != nil {
			t.Error(err)
		}
		// Wait for the row itself: with synchronous_commit=off on the test
		// clusters, the source's WAL write position can trail a commit
		// that is already visible, so a caught-up slot does not prove it.
		d, err := dst.Connect(ctx, e.db)
		if err != nil {
			t.Error(err)
			return
		}
		defer d.Close(ctx)
		for i := 0; i < 300; i++ {
			var ok bool
			if err := d.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM public.transactions WHERE id = 1001)").Scan(&ok); err != nil || ok {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Error("row 1001 never reached the target")
	}
	defer func() { afterSnapshotHook = nil }()
	r, err := e.run(Options{Checks: []Check{{Table: "public.transactions", Column: "id"}}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tr := r.Tables[0]
	if tr.Status != Match || *tr.Watermark != "1002" || tr.InitialSourceRows != 1001 || tr.SourceRows != 1002 || *tr.TargetRows != 1002 ||
		len(tr.Notes) != 1 || !strings.Contains(tr.Notes[0], "1 rows at or below the watermark were committed") {
		t.Fatalf("got %s (%s) watermark=%s initial=%d source=%d target=%v notes=%q", tr.Status, tr.Detail, *tr.Watermark,
			tr.InitialSourceRows, tr.SourceRows, tr.TargetRows, tr.Notes)
	}
}

func TestMismatchDeletedRowTracked(t *testing.T) {
	e := setup(t)
	// The subscription keeps running: the slot tracks the target's progress.
	e.dst(`DELETE FROM public.transactions WHERE id = 500`)
	start := time.Now()
	r, err := e.run(Options{Checks: []Check{{Table: "public.transactions", Column: "id"}}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tr := r.Tables[0]
	if tr.Status != Mismatch || tr.SourceRows != 1000 || *tr.TargetRows != 999 || !strings.Contains(tr.Detail, "1 rows fewer") || tr.Confirmation != "slot" {
		t.Fatalf("got %s (%s) source=%d target=%v via %s", tr.Status, tr.Detail, tr.SourceRows, tr.TargetRows, tr.Confirmation)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("a tracked mismatch took %s", el)
	}
}

func TestMismatchUntrackedAndExtraRows(t *testing.T) {
	e := setup(t)
	e.disableSubscription()
	e.dst(`DELETE FROM public.transactions WHERE id IN (1, 2, 3)`)
	e.dst(`INSERT INTO public.events VALUES (0, 'only on target')`)
	r, err := e.run(Options{Checks: []Check{{Table: "public.transactions", Column: "id"}, {Table: "public.events", Column: "id"}}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Slots) != 0 {
		t.Errorf("tracked %v with the subscription disabled", r.Slots)
	}
	tx := one(t, r, "public.transactions", "id")
	if tx.Status != Mismatch || *tx.TargetRows != 997 || tx.Confirmation != "stable counts" {
		t.Errorf("transactions: %s %s target=%v via %s", tx.Status, tx.Detail, tx.TargetRows, tx.Confirmation)
	}
	ev := one(t, r, "public.events", "id")
	if ev.Status != Mismatch || *ev.TargetRows != 1501 || !strings.Contains(ev.Detail, "1 rows more") {
		t.Errorf("events: %s %s target=%v", ev.Status, ev.Detail, ev.TargetRows)
	}
}

func TestTimeout(t *testing.T) {
	e := setup(t)
	e.disableSubscription()
	e.src(`INSERT INTO public.transactions DEFAULT VALUES`)
	start := time.Now()
	r, err := e.run(Options{Checks: []Check{{Table: "public.transactions", Column: "id"}}, Timeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tr := r.Tables[0]
	if tr.Status != Timeout || tr.TargetRows != nil || !strings.Contains(tr.Detail, "id >= 1001") {
		t.Fatalf("got %s (%s)", tr.Status, tr.Detail)
	}
	if el := time.Since(start); el < 1500*time.Millisecond || el > 10*time.Second {
		t.Errorf("timeout took %s", el)
	}
	if tr.Waited < time.Second {
		t.Errorf("waited %s", tr.Waited)
	}
}

func TestNotAppendOnlyWarning(t *testing.T) {
	e := setup(t)
	e.src(`UPDATE public.transactions SET amount = 2 WHERE id = 10; DELETE FROM public.transactions WHERE id = 11`)
	// Statistics reach pg_stat_user_tables asynchronously.
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := src.Connect(ctx, e.db)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		err = conn.QueryRow(ctx, "SELECT n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relid = 'public.transactions'::regclass").Scan(&n)
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("statistics never showed the update and delete")
		}
		time.Sleep(200 * time.Millisecond)
	}
	r, err := e.run(Options{Checks: []Check{{Table: "public.transactions", Column: "created_at"}, {Table: "public.events", Column: "id"}}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tr := one(t, r, "public.transactions", "created_at")
	if tr.Status != Match || len(tr.Warnings) != 1 || !strings.Contains(tr.Warnings[0], "not append-only") ||
		!strings.Contains(tr.Warnings[0], "1 updates and 1 deletes") || !strings.Contains(tr.Warnings[0], "timestamp") {
		t.Errorf("got %s %q", tr.Status, tr.Warnings)
	}
	if ev := one(t, r, "public.events", "id"); len(ev.Warnings) != 0 {
		t.Errorf("events warned: %q", ev.Warnings)
	}
}

func TestBadInput(t *testing.T) {
	e := setup(t)
	e.dst(`CREATE TABLE public.target_only (id int)`)
	e.src(`CREATE TABLE public.source_only (id int)`)
	for _, c := range []struct {
		checks  []Check
		exclude []string
		want    string
	}{
		{[]Check{{"public.nope", "id"}}, nil, "table public.nope not found on source"},
		{[]Check{{"public.source_only", "id"}}, nil, "table public.source_only not found on target"},
		{[]Check{{"public.transactions", "nope"}}, nil, "column nope not found in table public.transactions on source"},
		{[]Check{{"public.shapes", "p"}}, nil, "column p of public.shapes is of type point, which has no ordering"},
		{[]Check{{"public.transactions", ""}}, nil, "every --table needs a --column"},
		{[]Check{{"public.transactions", "id"}}, []string{"public.*"}, "--exclude leaves no table"},
		{[]Check{{"public.[", "id"}}, nil, "bad table pattern"},
	} {
		_, err := e.run(Options{Checks: c.checks, Exclude: c.exclude, Timeout: time.Second})
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want input error %q", c.checks, err, c.want)
		}
	}
	// A glob matches roots, not partitions; an exact partition name works.
	r, err := e.run(Options{Checks: []Check{{"public.events*", "id"}, {"public.events_2", "id"}}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Tables) != 2 || r.Tables[0].Table != "public.events" || r.Tables[1].Table != "public.events_2" ||
		r.Tables[1].SourceRows != 501 || r.Tables[1].Status != Match {
		t.Errorf("glob/partition selection: %+v", r.Tables)
	}
	// A text column compares under the C collation on both sides.
	r, err = e.run(Options{Checks: []Check{{"public.shapes", "label"}}, Timeout: 30 * time.Second})
	if err != nil || r.Tables[0].Status != Match || *r.Tables[0].Watermark != "x" {
		t.Errorf("text column: %v %+v", err, r)
	}
}
