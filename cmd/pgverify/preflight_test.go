package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

func TestPreflightCLIBadInput(t *testing.T) {
	t.Setenv("PGVERIFY_SOURCE", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"preflight"}, "no source database"},
		{[]string{"preflight", "--source", "postgres://x@127.0.0.1:1/db", "--ignore", "PF777"}, `unknown code "PF777"`},
		{[]string{"preflight", "--source", "postgres://x@127.0.0.1:1/db", "--max-slot-lag", "lots"}, "bad --max-slot-lag"},
		{[]string{"preflight", "--source", "postgres://x@127.0.0.1:1/db", "--table", "[x"}, "bad table pattern"},
		{[]string{"preflight", "--source", "postgres://x:secret@127.0.0.1:1/db"}, "cannot connect to source"},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "secret") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestPreflightCLI runs the command end to end: a PG 13 source with a table
// that has no replica identity exits 1 and names it; the same database
// fixed exits 0; --target against a PG 16 subscriber adds the target rules.
func TestPreflightCLI(t *testing.T) {
	ctx := context.Background()
	src, dst := clusterPair(t, "CREATE TABLE orders (id int PRIMARY KEY, v text); CREATE TABLE logs (at timestamptz, msg text)", "", false)

	code, out, errOut := runCLI("preflight", "--source", src.DSN("app"), "--format", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, errOut)
	}
	var doc struct {
		Findings []struct {
			Code, Severity string
			Objects        []string
		}
		Summary struct {
			Critical int
			Verdict  string
			ExitCode int `json:"exit_code"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	found := false
	for _, f := range doc.Findings {
		found = found || (f.Code == "PF004" && f.Severity == "critical" && len(f.Objects) == 1 && f.Objects[0] == "public.logs")
	}
	if !found || doc.Summary.Critical == 0 || doc.Summary.Verdict != "findings" || doc.Summary.ExitCode != 1 {
		t.Fatalf("PF004 for public.logs missing:\n%s", out)
	}

	// A --table pattern matching nothing is bad input, not a clean run.
	code, _, errOut = runCLI("preflight", "--source", src.DSN("app"), "--table", "ordres")
	if code != 2 || !strings.Contains(errOut, "--table ordres matches no source table") {
		t.Fatalf("typo in --table: exit %d, stderr %s", code, errOut)
	}

	// Text report to a file; --exclude leaves the bad table out: exit 0.
	file := filepath.Join(t.TempDir(), "report.txt")
	code, out, errOut = runCLI("preflight", "--source", src.DSN("app"), "--exclude", "logs", "-o", file)
	if code != 0 || out != "" {
		t.Fatalf("with --exclude: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	text, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(text), "0 blockers, 0 critical") || !strings.Contains(string(text), "PF098") {
		t.Fatalf("report file: %v\n%s", err, text)
	}

	// With a subscription and --target: the target rules run and pass.
	if err := src.Exec(ctx, "app", "ALTER TABLE logs REPLICA IDENTITY FULL"); err != nil {
		t.Fatal(err)
	}
	if err := pgcluster.Subscribe(ctx, src, dst, "app", "pfcli"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI("preflight", "--source", src.DSN("app"), "--target", dst.DSN("app"), "--ignore", "PF006")
	if code != 0 {
		t.Fatalf("healthy pair: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "target PostgreSQL 16") || strings.Contains(out, "PF098") || strings.Contains(out, src.Password) {
		t.Fatalf("unexpected report:\n%s", out)
	}
	// Disabled subscription: critical, exit 1.
	if err := dst.Exec(ctx, "app", "ALTER SUBSCRIPTION pfcli DISABLE"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI("preflight", "--source", src.DSN("app"), "--target", dst.DSN("app"))
	if code != 1 || !strings.Contains(out, "PF021") || !strings.Contains(out, "subscription disabled") {
		t.Fatalf("disabled subscription: exit %d\n%s", code, out)
	}
}
