package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

func TestProxyBadInput(t *testing.T) {
	t.Setenv("PGVERIFY_BACKEND", "")
	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"proxy"}, "no backend: pass --backend DSN", true},
		{[]string{"proxy", "--backend", "postgres://u:hunter2@h/db", "--listen", "0.0.0.0:6432"}, "allowed on loopback only", true},
		{[]string{"proxy", "--backend", "postgres://u:hunter2@h/db", "--tls-cert", "x.crt"}, "--tls-cert and --tls-key together", true},
		{[]string{"proxy", "--backend", "postgres://u:hunter2@h/db", "--auth-file", "/nonexistent/userlist.txt"}, "reading auth file", false},
		{[]string{"proxy", "--backend", "postgres://u:hunter2@h:notaport/db"}, "invalid backend connection string", false},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != exitError {
			t.Errorf("%v: exit %d", tc.args, code)
		}
		assertOneLine(t, stderr, tc.want, tc.usage, "hunter2")
	}
}

// TestProxyCommand runs the command with its admin console and drives both
// with psql.
func TestProxyCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Postgres")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Major: 16, Name: "cliproxy"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	var stderr bytes.Buffer
	addrs := make(chan [2]net.Addr, 1)
	opts := &ProxyOptions{Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", Backend: c.DSN("postgres"), MaxClients: 10,
		MaxPause: time.Minute, stdout: &bytes.Buffer{}, stderr: &stderr,
		ready: func(cl, ad net.Addr) { addrs <- [2]net.Addr{cl, ad} }}
	done := make(chan error, 1)
	go func() { done <- runProxy(ctx, opts) }()
	var a [2]net.Addr
	select {
	case a = <-addrs:
	case err := <-done:
		t.Fatalf("proxy: %v", err)
	}
	run := func(addr net.Addr, db string, cmds ...string) string {
		t.Helper()
		args := []string{"-X", "-A", "-t", "-h", "127.0.0.1", "-p", strconv.Itoa(addr.(*net.TCPAddr).Port), "-U", "postgres", "-d", db}
		for _, c := range cmds {
			args = append(args, "-c", c)
		}
		cmd := exec.Command(psql, args...)
		cmd.Env = append(os.Environ(), "PGSSLMODE=prefer", "PGCONNECT_TIMEOUT=10")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("psql %v: %v\n%s", cmds, err, out)
		}
		return string(out)
	}
	if out := run(a[0], "postgres", "SELECT 40 + 2"); strings.TrimSpace(out) != "42" {
		t.Fatalf("query through the proxy: %q", out)
	}
	out := run(a[1], "pgverify", "PAUSE 5", "SWITCH '"+c.DSN("postgres")+"'", "RESUME", "SHOW STATE")
	if !strings.Contains(out, "xxxxx") || strings.Contains(out, c.Password) || !strings.Contains(out, "|1|false|") {
		t.Fatalf("admin console output:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "warning: no --auth-file") || strings.Contains(stderr.String(), c.Password) {
		t.Errorf("stderr: %q", stderr.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not stop on cancel")
	}
}
