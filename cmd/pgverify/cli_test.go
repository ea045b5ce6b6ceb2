package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

// runCLI runs pgverify as main does and returns the exit code and output.
func runCLI(args ...string) (code int, stdout, stderr string) {
	return runCLIStdin("", args...)
}

func runCLIStdin(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Execute(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// clusterPair starts a PG 13 source and a PG 16 target, each with database
// "app" holding schema, loads data on the source and, with subscribe, makes
// the target subscribe to the source (subscription "cli").
func clusterPair(t *testing.T, schema, data string, subscribe bool) (src, dst *pgcluster.Cluster) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Postgres")
	}
	ctx := context.Background()
	var err error
	if src, err = pgcluster.Start(ctx, pgcluster.Options{Major: 13, Name: "clisrc"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Stop() })
	if dst, err = pgcluster.Start(ctx, pgcluster.Options{Major: 16, Name: "clidst"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Stop() })
	for _, c := range []*pgcluster.Cluster{src, dst} {
		if err := c.CreateDB(ctx, "app"); err != nil {
			t.Fatal(err)
		}
		if err := c.Exec(ctx, "app", schema); err != nil {
			t.Fatal(err)
		}
	}
	if data != "" {
		if err := src.Exec(ctx, "app", data); err != nil {
			t.Fatal(err)
		}
	}
	if subscribe {
		if err := pgcluster.Subscribe(ctx, src, dst, "app", "cli"); err != nil {
			t.Fatal(err)
		}
	}
	return src, dst
}

// execSQL runs sql in database app of c.
func execSQL(t *testing.T, c *pgcluster.Cluster, sql string) {
	t.Helper()
	if err := c.Exec(context.Background(), "app", sql); err != nil {
		t.Fatal(err)
	}
}

// assertOneLine checks the error contract: one "pgverify: " line naming
// want, followed by the usage hint exactly when usage is set, and never
// the password (when given).
func assertOneLine(t *testing.T, stderr, want string, usage bool, password string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	n := 1
	if usage {
		n = 2
	}
	if len(lines) != n || !strings.HasPrefix(lines[0], "pgverify: ") || !strings.Contains(lines[0], want) {
		t.Errorf("stderr = %q, want %d line(s) with %q", stderr, n, want)
	}
	if usage && (len(lines) < 2 || !strings.Contains(lines[1], "--help")) {
		t.Errorf("no usage hint in %q", stderr)
	}
	if password != "" && strings.Contains(stderr, password) {
		t.Errorf("error leaks the password: %q", stderr)
	}
}
