package proxy

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

var clusters pgcluster.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	clusters.StopAll()
	os.Exit(code)
}

// running is a proxy serving clients and its admin console on loopback.
type running struct {
	*Proxy
	addr, admin string
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

func startProxy(t *testing.T, cfg Config) *running {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
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
		// Serve waits for its sessions; tests close their connections.
		for i := 0; i < 2; i++ {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("proxy did not stop")
				return
			}
		}
	})
	return &running{Proxy: p, addr: l.Addr().String(), admin: al.Addr().String()}
}

// dsn is a URL to addr; password may be empty.
func dsn(addr, user, password, db string, extra string) string {
	u := url.URL{Scheme: "postgres", Host: addr, Path: "/" + db, RawQuery: "sslmode=disable"}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	if extra != "" {
		u.RawQuery = extra
	}
	return u.String()
}

func connect(t *testing.T, connString string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect %s: %v", connString, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func queryString(t *testing.T, c *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var s string
	if err := c.QueryRow(ctx, sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func execSQL(t *testing.T, c *pgx.Conn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// trustProxy starts a trust proxy in front of a fresh database on major.
func trustProxy(t *testing.T, major int) (*running, *pgcluster.Cluster, string) {
	t.Helper()
	c := clusters.Get(t, major)
	db := clusters.NewDB(t, c, "proxy")
	return startProxy(t, Config{Backend: c.DSN(db)}), c, db
}

func via(r *running, db string) string { return dsn(r.addr, "postgres", "", db, "") }

var _ = fmt.Sprint
