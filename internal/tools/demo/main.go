// Command demo is `make demo`, the whole upgrade rehearsed on embedded
// PostgreSQL 13 -> 16: it starts both clusters under .demo/, loads a small
// app that carries the seed's hazards (an unqualified function reachable
// from a CHECK, sequences, an append-only transactions table, a table
// without a primary key), starts a writer through `pgverify proxy`, then
// runs the real commands in order — preflight, replicate, switch, tables in
// the new direction — and ends with a summary: each step, its verdict, its
// time, the pause and the writer's failed transactions. `demo down` (make
// demo-clean) stops and removes everything.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

const schema = `
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
-- The seed's trap: a CHECK calls a function that calls another without a
-- schema; under the apply worker's empty search_path the copy fails.
CREATE FUNCTION public.is_jsonb_valid_timestamp(v jsonb) RETURNS boolean
  LANGUAGE sql IMMUTABLE AS $$ SELECT v ? 'at' $$;
CREATE FUNCTION public.valid_settings(s jsonb) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN s = '{}' OR is_jsonb_valid_timestamp(s); END $$;
CREATE TABLE public.accounts (
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  nick text,
  balance numeric(14,2) NOT NULL DEFAULT 0,
  settings jsonb NOT NULL DEFAULT '{}' CHECK (public.valid_settings(settings)),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.orders (
  id uuid PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES public.accounts(id),
  status order_status NOT NULL DEFAULT 'new',
  total numeric(12,2) NOT NULL,
  tags text[],
  placed_at timestamptz NOT NULL
);
CREATE TABLE public."Order Items" (
  order_id uuid NOT NULL REFERENCES public.orders(id),
  line int NOT NULL,
  sku text NOT NULL,
  qty int NOT NULL CHECK (qty > 0),
  unit_price numeric(10,2) NOT NULL,
  PRIMARY KEY (order_id, line)
);
-- Append-only: the watermark gate proves nothing below max(id) was lost.
CREATE TABLE public.transactions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL,
  amount numeric(14,2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- No primary key: replicated with REPLICA IDENTITY FULL, compared as a multiset.
CREATE TABLE public.audit_log (at timestamptz NOT NULL, actor text, action text NOT NULL, detail jsonb);
ALTER TABLE public.audit_log REPLICA IDENTITY FULL;
`

const data = `
INSERT INTO public.accounts (email, nick, balance, settings, created_at)
SELECT 'user' || g || '@example.com', CASE WHEN g % 5 = 0 THEN NULL ELSE 'nick' || g END, (g % 1000) * 1.25,
       CASE WHEN g % 2 = 0 THEN '{}' ELSE jsonb_build_object('at', '2024-01-01', 'theme', 'dark') END,
       timestamptz '2024-01-01' + g * interval '37 minutes'
FROM generate_series(1, 20000) g;
INSERT INTO public.orders
SELECT md5('order' || g)::uuid, 1 + g % 20000, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4]::order_status,
       (g % 500) + 0.99, ARRAY['t' || g % 3], timestamptz '2024-03-01' + g * interval '3 minutes'
FROM generate_series(1, 30000) g;
INSERT INTO public."Order Items"
SELECT md5('order' || g)::uuid, l, 'SKU-' || (g * l) % 997, 1 + l, 9.99 * l
FROM generate_series(1, 30000) g, generate_series(1, 3) l;
INSERT INTO public.transactions (account_id, amount, created_at)
SELECT 1 + g % 20000, ((g % 200) - 100) * 1.5, timestamptz '2024-01-01' + g * interval '1 minute'
FROM generate_series(1, 50000) g;
INSERT INTO public.audit_log SELECT timestamptz '2024-01-01' + g * interval '1 hour', 'admin', 'login', NULL FROM generate_series(1, 500) g;
ANALYZE;
`

func main() {
	cmd := "up"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	var err error
	switch cmd {
	case "up":
		err = up(context.Background())
	case "down":
		err = down()
	default:
		err = fmt.Errorf("usage: demo up|down")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
}

func demoDir() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, ".demo")
}

func step(format string, a ...any) { fmt.Printf("==> "+format+"\n", a...) }

// result is one line of the summary.
type result struct {
	step, verdict string
	code          int
	took          time.Duration
	note          string
}

func up(ctx context.Context) error {
	dir := demoDir()
	if _, err := os.Stat(dir); err == nil {
		step("stopping the previous demo")
		if err := down(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	t0 := time.Now()
	step("starting PostgreSQL 13 (the old cluster) and 16 (the new one) on free loopback ports")
	src, err := pgcluster.Start(ctx, pgcluster.Options{Major: 13, Dir: filepath.Join(dir, "pg13"), Keep: true})
	if err != nil {
		return err
	}
	dst, err := pgcluster.Start(ctx, pgcluster.Options{Major: 16, Dir: filepath.Join(dir, "pg16"), Keep: true})
	if err != nil {
		_ = src.Stop()
		return err
	}
	// Passwords go to a .pgpass file, never to the screen.
	pgpass := filepath.Join(dir, "pgpass")
	pp := fmt.Sprintf("127.0.0.1:%d:*:postgres:%s\n127.0.0.1:%d:*:postgres:%s\n", src.Port, src.Password, dst.Port, dst.Password)
	if err := os.WriteFile(pgpass, []byte(pp), 0o600); err != nil {
		return err
	}
	os.Setenv("PGPASSFILE", pgpass)
	srcURL, dstURL := noPassword(src, "shop"), noPassword(dst, "shop")
	bin, _ := filepath.Abs("bin/pgverify")
	// The subscriptions' own password files, readable by the servers' OS
	// user: no password is stored in either cluster's catalog.
	serverPass := filepath.Join(dir, "pgpass-server")
	if err := os.WriteFile(serverPass, []byte(pp), 0o600); err != nil {
		return err
	}
	if u, err := user.Lookup("postgres"); err == nil && os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = os.Chown(serverPass, uid, gid)
	}
	subConn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=shop user=postgres passfile=%s", src.Port, serverPass)
	revConn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=shop user=postgres passfile=%s", dst.Port, serverPass)

	step("loading the app on PG 13: an unqualified function behind a CHECK, sequences, an append-only table, a table without a key")
	if err := src.CreateDB(ctx, "shop"); err != nil {
		return err
	}
	if err := src.Exec(ctx, "shop", schema+data); err != nil {
		return err
	}

	step("starting pgverify proxy in front of PG 13 and a writer through it")
	proxyPort, adminPort, err := freePorts()
	if err != nil {
		return err
	}
	proxyLog, _ := os.Create(filepath.Join(dir, "proxy.log"))
	proxy := exec.Command(bin, "proxy", "--listen", fmt.Sprintf("127.0.0.1:%d", proxyPort), "--backend", srcURL,
		"--admin-listen", fmt.Sprintf("127.0.0.1:%d", adminPort))
	proxy.Stdout, proxy.Stderr = proxyLog, proxyLog
	if err := proxy.Start(); err != nil {
		return err
	}
	_ = os.WriteFile(filepath.Join(dir, "proxy.pid"), []byte(fmt.Sprint(proxy.Process.Pid)), 0o644)
	if err := waitListen(fmt.Sprintf("127.0.0.1:%d", proxyPort)); err != nil {
		return fmt.Errorf("pgverify proxy did not start (see .demo/proxy.log): %w", err)
	}
	w := startWriter(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/shop?sslmode=disable", proxyPort))

	var results []result
	run := func(name string, args ...string) (result, []byte) {
		step("pgverify %s", strings.Join(args, " "))
		start := time.Now()
		c := exec.CommandContext(ctx, bin, args...)
		c.Stderr = os.Stderr
		out, err := c.Output()
		r := result{step: name, took: time.Since(start)}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			r.code = -1
			r.note = err.Error()
		}
		var doc struct {
			Summary struct {
				Verdict string `json:"verdict"`
			} `json:"summary"`
		}
		_ = json.Unmarshal(out, &doc)
		r.verdict = doc.Summary.Verdict
		fmt.Print(indent(lastLines(string(out), 14)))
		return r, out
	}
	r, _ := run("preflight: finds the hazards", "preflight", "--source", srcURL, "--format", "json")
	results = append(results, r)
	r, _ = run("replicate", "replicate", "--source", srcURL, "--target", dstURL, "--create-database",
		"--fix-search-path", "--watermark", "public.transactions:id", "--subscription-conninfo", subConn, "--format", "json", "--no-progress")
	results = append(results, r)
	r, out := run("switch (under the writer's load)", "switch", "--source", srcURL, "--target", dstURL,
		"--proxy", fmt.Sprintf("127.0.0.1:%d", adminPort), "--reverse-conninfo", revConn, "--format", "json")
	var sw struct {
		Summary struct {
			PauseMS float64 `json:"pause_ms"`
		} `json:"summary"`
	}
	_ = json.Unmarshal(out, &sw)
	if sw.Summary.PauseMS > 0 {
		r.note = fmt.Sprintf("pause %.0f ms", sw.Summary.PauseMS)
	}
	results = append(results, r)
	time.Sleep(time.Second) // the writer goes on, now on PG 16
	commits, failures, firstErr := w.stop()
	r, _ = run("tables, new direction (16 -> 13)", "tables", "--source", dstURL, "--target", srcURL, "--format", "json", "--no-progress")
	results = append(results, r)

	env := fmt.Sprintf("export PGPASSFILE=%s PGVERIFY_SOURCE='%s' PGVERIFY_TARGET='%s'\n", pgpass, dstURL, srcURL)
	if err := os.WriteFile(filepath.Join(dir, "env"), []byte(env), 0o644); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("The rehearsal, PG 13 -> PG 16:")
	fmt.Printf("  %-36s %-10s %4s %9s  %s\n", "STEP", "VERDICT", "EXIT", "TIME", "")
	for _, r := range results {
		fmt.Printf("  %-36s %-10s %4d %9s  %s\n", r.step, r.verdict, r.code, r.took.Round(time.Millisecond), r.note)
	}
	fmt.Printf("  writer through pgverify proxy: %d transactions committed, %d failed%s\n", commits, failures, firstErr)
	fmt.Printf("  total %s\n\n", time.Since(t0).Round(100*time.Millisecond))
	fmt.Printf("The clusters and the proxy keep running (PG 16 is now the source). Try:\n")
	fmt.Printf("  source %s\n", filepath.Join(dir, "env"))
	fmt.Printf("  psql -h 127.0.0.1 -p %d -U postgres shop      # through the proxy, now on PG 16\n", proxyPort)
	fmt.Printf("  bin/pgverify tables --format json\n")
	fmt.Printf("  bin/pgverify sequences\n")
	fmt.Printf("Stop everything with: make demo-clean\n")
	return nil
}

// writer inserts into public.transactions through the proxy until stopped,
// counting commits and failures.
type writer struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	commits  atomic.Int64
	failures atomic.Int64
	first    atomic.Value
}

func startWriter(ctx context.Context, dsn string) *writer {
	ctx, cancel := context.WithCancel(ctx)
	w := &writer{cancel: cancel}
	for i := 0; i < 4; i++ {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				w.failures.Add(1)
				w.first.CompareAndSwap(nil, err.Error())
				return
			}
			defer conn.Close(context.Background())
			for ctx.Err() == nil {
				_, err := conn.Exec(ctx, "INSERT INTO public.transactions (account_id, amount) VALUES ($1, 1.00)", 1+i)
				switch {
				case err == nil:
					w.commits.Add(1)
				case ctx.Err() == nil:
					w.failures.Add(1)
					w.first.CompareAndSwap(nil, err.Error())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return w
}

func (w *writer) stop() (commits, failures int64, first string) {
	w.cancel()
	w.wg.Wait()
	if v, ok := w.first.Load().(string); ok {
		first = " (first: " + v + ")"
	}
	return w.commits.Load(), w.failures.Load(), first
}

func freePorts() (int, int, error) {
	var ports []int
	for i := 0; i < 2; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports[0], ports[1], nil
}

func waitListen(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = append([]string{"..."}, l[len(l)-n:]...)
	}
	return strings.Join(l, "\n")
}

func noPassword(c *pgcluster.Cluster, db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: fmt.Sprintf("127.0.0.1:%d", c.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

func down() error {
	dir := demoDir()
	if b, err := os.ReadFile(filepath.Join(dir, "proxy.pid")); err == nil {
		if pid := atoi(strings.TrimSpace(string(b))); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	for _, m := range []string{"13", "16"} {
		data := filepath.Join(dir, "pg"+m, "data")
		if _, err := os.Stat(data); err != nil {
			continue
		}
		bin, err := pgcluster.BinDir(atoi(m))
		if err != nil {
			return err
		}
		c := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
		if os.Geteuid() == 0 {
			c = exec.Command("su", "postgres", "-s", "/bin/sh", "-c", fmt.Sprintf("%s -D %s -m fast -w stop", filepath.Join(bin, "pg_ctl"), data))
		}
		_ = c.Run()
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	step("demo clusters stopped and .demo removed")
	return nil
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
