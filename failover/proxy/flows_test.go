package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestQueryFlows(t *testing.T) {
	needPG(t, 16)
	r, _, db := trustProxy(t, 16)
	ctx := context.Background()
	c := connect(t, via(r, db))

	// simple protocol
	cs := connect(t, via(r, db)+"&default_query_exec_mode=simple_protocol")
	if got := queryString(t, cs, "SELECT 'simple'||$1::text", "!"); got != "simple!" {
		t.Fatalf("simple protocol: %q", got)
	}
	// extended protocol, statement cache (named prepared statements)
	execSQL(t, c, "CREATE TABLE t (id int PRIMARY KEY, v text)")
	for i := 0; i < 3; i++ {
		execSQL(t, c, "INSERT INTO t VALUES ($1, $2)", i, "v")
	}
	if got := queryString(t, c, "SELECT count(*)::text FROM t WHERE v = $1", "v"); got != "3" {
		t.Fatalf("extended: count %s", got)
	}
	// explicit prepared statement
	if _, err := c.Prepare(ctx, "byid", "SELECT v FROM t WHERE id = $1"); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, c, "byid", 2); got != "v" {
		t.Fatalf("prepared: %q", got)
	}
	// a pipeline: several named statements prepared in one batch
	b := &pgx.Batch{}
	for i := 0; i < 5; i++ {
		b.Queue(fmt.Sprintf("SELECT v FROM t WHERE id = $1 AND %d = %d", i, i), i%3)
	}
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	var prepared int
	for _, ci := range r.Clients() {
		prepared = max(prepared, ci.Prepared)
	}
	if prepared < 7 { // byid + pgx's cached statements
		t.Errorf("prepared statements tracked: %d", prepared)
	}
	// COPY in
	n, err := c.CopyFrom(ctx, pgx.Identifier{"t"}, []string{"id", "v"},
		pgx.CopyFromSlice(1000, func(i int) ([]any, error) { return []any{i + 10, "copied"}, nil }))
	if err != nil || n != 1000 {
		t.Fatalf("copy from: %d %v", n, err)
	}
	// COPY out
	var buf bytes.Buffer
	tag, err := c.PgConn().CopyTo(ctx, &buf, "COPY (SELECT id FROM t WHERE v = 'copied' ORDER BY id) TO STDOUT")
	if err != nil || tag.RowsAffected() != 1000 || !strings.HasPrefix(buf.String(), "10\n11\n") {
		t.Fatalf("copy to: %v %v %q", tag, err, buf.String()[:20])
	}
	// transaction status tracked: an error inside a transaction
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1/0"); err == nil {
		t.Fatal("division by zero succeeded")
	}
	_ = tx.Rollback(ctx)
	if got := queryString(t, c, "SELECT 'after rollback'"); got != "after rollback" {
		t.Fatal(got)
	}

	// NOTIFY delivered through the proxy
	l := connect(t, via(r, db))
	execSQL(t, l, "LISTEN chan1")
	execSQL(t, c, "SELECT pg_notify('chan1', 'hello')")
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	note, err := l.WaitForNotification(wctx)
	if err != nil || note.Payload != "hello" || note.Channel != "chan1" {
		t.Fatalf("notification: %+v %v", note, err)
	}
	// NOTICE passes through
	var notices []string
	cn := connect(t, via(r, db))
	_ = cn
	cfg, _ := pgconn.ParseConfig(via(r, db))
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	if _, err := pc.Exec(ctx, "DO $$BEGIN RAISE NOTICE 'psst'; END$$").ReadAll(); err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || notices[0] != "psst" {
		t.Fatalf("notices: %v", notices)
	}

	// cancel: pgx sends a CancelRequest to the proxy when ctx ends
	cctx, ccancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer ccancel()
	start := time.Now()
	_, err = c.Exec(cctx, "SELECT pg_sleep(20)")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		// pgx may report the context error once the cancel landed
		if time.Since(start) > 5*time.Second || err == nil {
			t.Fatalf("cancel: %v after %s", err, time.Since(start))
		}
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("cancel took %s", time.Since(start))
	}
	// explicit CancelRequest while a query runs on another connection
	c2 := connect(t, via(r, db))
	errc := make(chan error, 1)
	go func() { _, err := c2.Exec(ctx, "SELECT pg_sleep(20)"); errc <- err }()
	time.Sleep(300 * time.Millisecond)
	if err := c2.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.As(err, &pe) || pe.Code != "57014" {
			t.Fatalf("cancelled query: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CancelRequest did not reach the backend")
	}
	if got := queryString(t, c2, "SELECT 'still usable'"); got != "still usable" {
		t.Fatal(got)
	}
}
