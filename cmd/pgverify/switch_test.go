package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pgverify/pgverify/failover/proxy"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

// cliProxy starts an in-process pgverify proxy (trust, loopback) in front of
// backend and returns its admin address.
func cliProxy(t *testing.T, backend string) (*proxy.Proxy, string) {
	t.Helper()
	p, err := proxy.New(proxy.Config{Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.Serve(ctx, l) }()
	go func() { _ = p.ServeAdmin(ctx, al) }()
	return p, al.Addr().String()
}

func TestSwitchCLI(t *testing.T) {
	schema := "CREATE TABLE public.orders (id bigserial PRIMARY KEY, v text);"
	src, dst := clusterPair(t, schema, "INSERT INTO public.orders (v) SELECT 'x' FROM generate_series(1, 100);", true)
	for _, c := range []*pgcluster.Cluster{src, dst} {
		if err := c.CreateDB(context.Background(), "other"); err != nil {
			t.Fatal(err)
		}
	}
	p, admin := cliProxy(t, src.DSN("app"))

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			args  []string
			want  string
			usage bool // a flag error: the usage hint follows
		}{
			{[]string{"--source", src.DSN("app"), "--target", dst.DSN("app"), "--proxy", "127.0.0.1:1"}, "proxy admin 127.0.0.1:1", false},
			{[]string{"--source", src.DSN("app"), "--target", src.DSN("app"), "--proxy", admin}, "source and target are the same database", false},
			{[]string{"--source", src.DSN("other"), "--target", dst.DSN("other"), "--proxy", admin}, "no subscription links the target to the source", false},
			{[]string{"--source", src.DSN("app"), "--target", dst.DSN("app"), "--proxy", admin, "--expect", "2"}, "--expect 2, but 1 traffic controller(s) given", true},
			{[]string{"--source", src.DSN("app"), "--target", dst.DSN("app"), "--proxy", admin, "--proxy", admin}, "is given twice", false},
			{[]string{"--source", src.DSN("app"), "--target", dst.DSN("app"), "--proxy", admin, "--gate", "rows"}, "--gate must be tables, sample or none", true},
			{[]string{"--source", src.DSN("app"), "--target", dst.DSN("app"), "--pgbouncer", "host=x;db=app"}, "give ini=FILE", true},
			{[]string{"--source", src.DSN("app"), "--target", dst.DSN("app"), "--pgbouncer", "host=x;ini=/tmp/x.ini;db=app;lease=-1s"}, "lease=-1s is not a positive duration", true},
		} {
			code, stdout, stderr := runCLI(append([]string{"switch"}, c.args...)...)
			if code != exitError || stdout != "" {
				t.Errorf("%v: exit %d, want 2\n%s", c.args, code, stdout)
			}
			assertOneLine(t, stderr, c.want, c.usage, src.Password)
			if st := p.State(); st.Paused || st.Generation != 0 {
				t.Errorf("proxy touched by a refused switch: %+v", st)
			}
		}
		code, _, stderr := runCLI("switch", "--source", src.DSN("app"), "--target", dst.DSN("app"))
		if code != exitError {
			t.Errorf("no --proxy: exit %d", code)
		}
		assertOneLine(t, stderr, "nothing to switch", true, "")
	})

	t.Run("dry run", func(t *testing.T) {
		code, stdout, stderr := runCLI("switch", "--source", src.DSN("app"), "--target", dst.DSN("app"), "--proxy", admin, "--dry-run", "--expect", "1")
		if code != exitOK || !strings.Contains(stdout, "ready: every check before the pause passed") || !strings.Contains(stdout, "table(s) equal") {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		// Each gate runs what it names.
		for gate, want := range map[string]string{"sample": "sample", "none": "skipped (--gate none)"} {
			code, stdout, stderr := runCLI("switch", "--source", src.DSN("app"), "--target", dst.DSN("app"), "--proxy", admin, "--dry-run", "--gate", gate)
			if code != exitOK || !strings.Contains(stdout, want) {
				t.Errorf("--gate %s: exit %d, want %q in\n%s\n%s", gate, code, want, stdout, stderr)
			}
		}
		if st := p.State(); st.Paused || st.Generation != 0 {
			t.Errorf("proxy touched by a dry run: %+v", st)
		}
	})

	t.Run("switch", func(t *testing.T) {
		code, stdout, stderr := runCLI("switch", "--source", src.DSN("app"), "--target", dst.DSN("app"), "--proxy", admin,
			"--format", "json", "--watch", "200ms", "--post-gate")
		var doc struct {
			Summary struct {
				Verdict  string  `json:"verdict"`
				ExitCode int     `json:"exit_code"`
				PauseMS  float64 `json:"pause_ms"`
			} `json:"summary"`
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("exit %d: %v\n%s\n%s", code, err, stdout, stderr)
		}
		if code != exitOK || doc.Summary.Verdict != "switched" || doc.Summary.ExitCode != 0 {
			t.Fatalf("exit %d, summary %+v\n%s\n%s", code, doc.Summary, stdout, stderr)
		}
		if st := p.State(); st.Paused || st.Generation != 1 {
			t.Errorf("proxy after the switch: %+v", st)
		}
		if strings.Contains(stdout, src.Password) || strings.Contains(stdout, dst.Password) {
			t.Errorf("report leaks a password")
		}
		// The reverse subscription carries a write on the new cluster back.
		execSQL(t, dst, "INSERT INTO public.orders (v) VALUES ('after')")
		deadline := time.Now().Add(30 * time.Second)
		for {
			conn, err := src.Connect(context.Background(), "app")
			if err != nil {
				t.Fatal(err)
			}
			var n int
			_ = conn.QueryRow(context.Background(), "SELECT count(*) FROM public.orders WHERE v = 'after'").Scan(&n)
			conn.Close(context.Background())
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the reverse subscription did not carry a new write back to the old cluster")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
