package proxyctl

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestDSN(t *testing.T) {
	for _, c := range []struct{ addr, base, want string }{
		{"10.0.0.5:6433", "postgres://app:s3cret@old:5432/app", "postgres://app:s3cret@10.0.0.5:6433/pgverify?sslmode=disable"},
		{"10.0.0.5:6433", "host=old user=admin dbname=app", "postgres://admin@10.0.0.5:6433/pgverify?sslmode=disable"},
		{"[::1]:6433", "", "postgres://[::1]:6433/pgverify?sslmode=disable"},
		{"postgres://ops@p:6433/x", "postgres://app@old/app", "postgres://ops@p:6433/x"},
		{"host=p port=6433 user=ops", "", "host=p port=6433 user=ops"},
	} {
		got, err := DSN(c.addr, c.base)
		if err != nil || got != c.want {
			t.Errorf("DSN(%q, %q) = %q, %v; want %q", c.addr, c.base, got, err, c.want)
		}
	}
	if _, err := DSN("no-port", ""); err == nil {
		t.Error("an address without a port was accepted")
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://app:s3cret@127.0.0.1:1/pgverify?sslmode=disable")
	if err == nil || !strings.Contains(err.Error(), "proxy admin 127.0.0.1:1") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open on a closed port: %v", err)
	}
}
