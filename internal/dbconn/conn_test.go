package dbconn

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"postgres://bob:s3cret@db:5432/app":                 "postgres://bob:xxxxx@db:5432/app",
		"postgresql://bob:s3%40cret@db/app?sslmode=require": "postgresql://bob:xxxxx@db/app?sslmode=require",
		"host=db password=s3cret dbname=app":                "host=db password=xxxxx dbname=app",
		"host=db password='s3 cret' dbname=app":             "host=db password=xxxxx dbname=app",
		"postgres://db/app?password=s3cret&sslmode=off":     "postgres://db/app?password=xxxxx&sslmode=off",
		"postgres://bob@db/app":                             "postgres://bob@db/app",
		"postgres://bob:x@db/app":                           "postgres://bob:xxxxx@db/app",
		"postgres://bob:p@ss@db/app":                        "postgres://bob:xxxxx@db/app",
		"host=db password=ab'cd dbname=app":                 "host=db password=xxxxx dbname=app",
		`host=db password=a\ b dbname=app`:                  "host=db password=xxxxx dbname=app",
		"x sslpassword=k3y y":                               "x sslpassword=xxxxx y",
		"POSTGRES://bob:s3cret@db/app":                      "POSTGRES://bob:xxxxx@db/app",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMalformedDSN(t *testing.T) {
	_, err := Connect(context.Background(), "postgres://bob:s3cret@db:notaport/app", Options{Role: "source"})
	var de *DSNError
	if !errors.As(err, &de) {
		t.Fatalf("want DSNError, got %T %v", err, err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error leaks password or spans lines: %q", err)
	}
	if !strings.Contains(err.Error(), "invalid source connection string") {
		t.Fatalf("unclear error: %q", err)
	}
}

func TestUnreachable(t *testing.T) {
	// Port 1 on loopback refuses at once.
	_, err := Connect(context.Background(), "postgres://bob:s3cret@127.0.0.1:1/app?connect_timeout=2", Options{Role: "target"})
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Kind != Unreachable {
		t.Fatalf("want unreachable ConnectError, got %T %v", err, err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error leaks password or spans lines: %q", err)
	}
}

// A guard below 1ms must never reach Postgres as 0, which means no limit.
func TestGuardsRoundUp(t *testing.T) {
	for _, c := range []struct {
		st, lt         time.Duration
		wantSt, wantLt string
	}{
		{900 * time.Microsecond, 500 * time.Microsecond, "1", "1"},
		{1500 * time.Microsecond, time.Nanosecond, "2", "1"},
		{0, 0, "600000", "5000"},
		{2 * time.Second, 3 * time.Millisecond, "2000", "3"},
	} {
		cfg, err := Config("host=db dbname=app", Options{StatementTimeout: c.st, LockTimeout: c.lt})
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.RuntimeParams["statement_timeout"]; got != c.wantSt {
			t.Errorf("statement_timeout for %s = %s, want %s", c.st, got, c.wantSt)
		}
		if got := cfg.RuntimeParams["lock_timeout"]; got != c.wantLt {
			t.Errorf("lock_timeout for %s = %s, want %s", c.lt, got, c.wantLt)
		}
	}
}
