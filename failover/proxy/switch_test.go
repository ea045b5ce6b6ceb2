package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// waitFor polls cond (test code only) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPauseWaitsForTransaction: PAUSE returns only after the open
// transaction commits; a new transaction is held, not refused, and runs
// after RESUME.
func TestPauseWaitsForTransaction(t *testing.T) {
	needPG(t, 16)
	r, _, db := trustProxy(t, 16)
	ctx := context.Background()
	a := connect(t, via(r, db))
	b := connect(t, via(r, db))
	execSQL(t, a, "CREATE TABLE p (id int)")
	tx, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO p VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	paused := make(chan error, 1)
	go func() { paused <- r.Pause(ctx) }()
	select {
	case err := <-paused:
		t.Fatalf("Pause returned with a transaction open: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if st := r.State(); !st.Paused || st.InTx != 1 {
		t.Fatalf("state while draining: %+v", st)
	}
	// The open transaction goes on while paused.
	if _, err := tx.Exec(ctx, "INSERT INTO p VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	// b's next transaction is held.
	held := make(chan error, 1)
	go func() { _, err := b.Exec(ctx, "INSERT INTO p VALUES ($1)", 3); held <- err }() // extended protocol
	waitFor(t, "b held", func() bool { return r.State().Held == 1 })
	commitAt := time.Now()
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-paused:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Pause returned %s after COMMIT", time.Since(commitAt))
	case <-time.After(5 * time.Second):
		t.Fatal("Pause did not return after COMMIT")
	}
	select {
	case err := <-held:
		t.Fatalf("held transaction ran during the pause: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	r.Resume()
	select {
	case err := <-held:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held transaction did not run after Resume")
	}
	if got := queryString(t, a, "SELECT string_agg(id::text, ',' ORDER BY id) FROM p"); got != "1,2,3" {
		t.Fatalf("rows %s", got)
	}

	// A pause that times out resumes and says why.
	tx, err = a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := r.Pause(pctx); err == nil || !strings.Contains(err.Error(), "1 client(s) still inside a transaction") {
		t.Fatalf("pause timeout: %v", err)
	}
	if r.State().Paused {
		t.Fatal("still paused after a failed pause")
	}
	_ = tx.Rollback(ctx)
}

// TestSwitch13To16: a session's SETs and prepared statements follow it from
// PG 13 to PG 16 at an idle boundary; a LISTEN session is closed with a
// FATAL message naming why; the admin console drives it.
func TestSwitch13To16(t *testing.T) {
	needPG(t, 13, 16)
	ctx := context.Background()
	c13, c16 := clusters.Get(t, 13), clusters.Get(t, 16)
	db := clusters.NewDB(t, c13, "sw")
	if err := c16.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{c13.DSN(db), c16.DSN(db)} {
		conn := connect(t, c)
		execSQL(t, conn, "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, name text); INSERT INTO app.items VALUES (1, 'one'), (2, 'two')")
	}
	r := startProxy(t, Config{Backend: c13.DSN(db)})
	s := connect(t, via(r, db))
	execSQL(t, s, "SET search_path = app, public")
	execSQL(t, s, "SET application_name = 'moving-app'")
	execSQL(t, s, "SELECT set_config('app.tenant', 'acme', false)")
	execSQL(t, s, "BEGIN; SET statement_timeout = '7s'; ROLLBACK") // rolled back: not carried
	execSQL(t, s, "SET LOCAL work_mem = '9MB'")                    // transaction-local: not carried
	execSQL(t, s, "PREPARE byid(int) AS SELECT name FROM items WHERE id = $1")
	if _, err := s.Prepare(ctx, "proto_stmt", "SELECT name FROM items WHERE id = $1"); err != nil {
		t.Fatal(err)
	}
	if v := queryString(t, s, "SELECT version()"); !strings.Contains(v, "PostgreSQL 13") {
		t.Fatalf("before: %s", v)
	}
	l := connect(t, via(r, db))
	execSQL(t, l, "LISTEN jobs")
	tmp := connect(t, via(r, db))
	execSQL(t, tmp, "CREATE TEMP TABLE scratch (i int)")
	adv := connect(t, via(r, db))
	execSQL(t, adv, "SELECT pg_advisory_lock(7)")
	// Released state does not stop a session from moving.
	freed := connect(t, via(r, db))
	execSQL(t, freed, "LISTEN x; UNLISTEN x; SELECT pg_advisory_lock(8); SELECT pg_advisory_unlock(8)")

	admin := connect(t, dsn(r.admin, "postgres", "", "pgverify", "default_query_exec_mode=simple_protocol"))
	start := time.Now()
	adminRows(t, admin, "PAUSE 5")
	paused := time.Now()
	sw := adminRows(t, admin, "SWITCH '"+strings.ReplaceAll(c16.DSN(db), "'", "''")+"'")
	switched := time.Now()
	adminRows(t, admin, "RESUME")
	t.Logf("PAUSE %s, SWITCH %s, PAUSE+SWITCH+RESUME %s; switch row %v", paused.Sub(start), switched.Sub(paused), time.Since(start), sw)
	if len(sw) != 1 || sw[0][0] != "2" || sw[0][1] != "3" || sw[0][2] != "0" {
		t.Fatalf("switch row (moved, closed, failed): %v", sw)
	}

	if v := queryString(t, s, "SELECT version()"); !strings.Contains(v, "PostgreSQL 16") {
		t.Fatalf("after: %s", v)
	}
	if got := queryString(t, s, "SHOW search_path"); got != "app, public" {
		t.Errorf("search_path %q", got)
	}
	if got := queryString(t, s, "SELECT current_setting('application_name')"); got != "moving-app" {
		t.Errorf("application_name %q", got)
	}
	if got := queryString(t, s, "SELECT current_setting('app.tenant')"); got != "acme" {
		t.Errorf("set_config app.tenant %q", got)
	}
	if got := queryString(t, s, "SHOW statement_timeout"); got != "0" {
		t.Errorf("rolled-back statement_timeout carried: %q", got)
	}
	if got := queryString(t, s, "SHOW work_mem"); got == "9MB" {
		t.Errorf("SET LOCAL carried")
	}
	if got := queryString(t, s, "EXECUTE byid(2)"); got != "two" {
		t.Errorf("PREPARE after switch: %q", got)
	}
	if got := queryString(t, s, "proto_stmt", 1); got != "one" {
		t.Errorf("protocol prepared statement after switch: %q", got)
	}
	if got := s.PgConn().ParameterStatus("server_version"); !strings.HasPrefix(got, "16") {
		t.Errorf("client's server_version %q", got)
	}
	// Cancel reaches the session's new backend.
	errc := make(chan error, 1)
	go func() { _, err := s.Exec(ctx, "SELECT pg_sleep(20)"); errc <- err }()
	time.Sleep(300 * time.Millisecond)
	if err := s.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" {
			t.Fatalf("cancel after switch: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel after the switch did not reach the new backend")
	}
	// The LISTEN session was closed with a FATAL naming why.
	_, err := l.Exec(ctx, "SELECT 1")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Severity != "FATAL" || !strings.Contains(pe.Message, `LISTEN on "jobs"`) {
		t.Fatalf("LISTEN session after switch: %v", err)
	}
	for conn, why := range map[*pgx.Conn]string{tmp: "temporary tables", adv: "session advisory locks"} {
		_, err := conn.Exec(ctx, "SELECT 1")
		if !errors.As(err, &pe) || pe.Severity != "FATAL" || !strings.Contains(pe.Message, why) {
			t.Errorf("%s session after switch: %v", why, err)
		}
	}
	if v := queryString(t, freed, "SELECT version()"); !strings.Contains(v, "PostgreSQL 16") {
		t.Errorf("freed session: %s", v)
	}
	st := adminRows(t, admin, "SHOW STATE")
	if st[0][1] != "1" || st[0][2] != "false" || st[0][9] != "3" {
		t.Errorf("SHOW STATE %v", st)
	}
	cl := adminRows(t, admin, "SHOW CLIENTS")
	if len(cl) != 2 || cl[0][4] != "moving-app" || cl[0][5] != "idle" {
		t.Errorf("SHOW CLIENTS %v", cl)
	}
	// SWITCH when not paused is refused.
	if _, err := admin.Exec(ctx, "SWITCH '"+c13.DSN(db)+"'"); err == nil || !strings.Contains(err.Error(), "pause first") {
		t.Errorf("unpaused SWITCH: %v", err)
	}
}

// adminRows runs an admin console command and returns its rows as text.
func adminRows(t *testing.T, c *pgx.Conn, cmd string) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rs, err := c.Query(ctx, cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	defer rs.Close()
	var out [][]string
	for rs.Next() {
		var row []string
		for _, v := range rs.RawValues() {
			row = append(row, string(v))
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return out
}

// TestLeaseExpiryUndoesSwitch: a coordinator that pauses and switches and
// then goes silent must not leave this proxy on the new cluster while the
// rest of its fleet stays on the old one: the lease ends the pause on the
// backend it began on, and the late RESUME is refused with the reason.
func TestLeaseExpiryUndoesSwitch(t *testing.T) {
	needPG(t, 13, 16)
	ctx := context.Background()
	c13, c16 := clusters.Get(t, 13), clusters.Get(t, 16)
	db := clusters.NewDB(t, c13, "lease")
	if err := c16.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	r := startProxy(t, Config{Backend: c13.DSN(db), MaxPause: 700 * time.Millisecond})
	s := connect(t, via(r, db))
	execSQL(t, s, "SET application_name = 'leased'")
	admin := connect(t, dsn(r.admin, "postgres", "", "pgverify", "default_query_exec_mode=simple_protocol"))
	start := time.Now()
	adminRows(t, admin, "PAUSE 5")
	if sw := adminRows(t, admin, "SWITCH '"+strings.ReplaceAll(c16.DSN(db), "'", "''")+"'"); len(sw) != 1 || sw[0][0] != "1" {
		t.Fatalf("switch row: %v", sw)
	}
	// The coordinator is gone. The next transaction is held, then runs on
	// PG 13 again.
	v := queryString(t, s, "SELECT current_setting('server_version_num')")
	held := time.Since(start)
	if !strings.HasPrefix(v, "13") {
		t.Fatalf("after the lease the session runs on server_version_num %s, want 13", v)
	}
	if held < 600*time.Millisecond || held > 10*time.Second {
		t.Errorf("held %s, lease 700ms", held)
	}
	if got := queryString(t, s, "SELECT current_setting('application_name')"); got != "leased" {
		t.Errorf("application_name %q after switching back", got)
	}
	if st := r.State(); st.Paused || !strings.Contains(st.Backend, fmt.Sprint(c13.Port)) {
		t.Errorf("state %+v", st)
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := admin.Exec(actx, "RESUME")
	if err == nil || !strings.Contains(err.Error(), "lease") {
		t.Fatalf("late RESUME: %v, want the lease's reason", err)
	}
	t.Logf("held %s; late RESUME: %v", held.Round(time.Millisecond), err)
}
