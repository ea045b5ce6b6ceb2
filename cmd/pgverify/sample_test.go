package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestSampleCLIBadInput(t *testing.T) {
	t.Setenv("PGVERIFY_SOURCE", "")
	t.Setenv("PGVERIFY_TARGET", "")
	dsn := "postgres://x@127.0.0.1:1/db"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sample", "--target", dsn}, "no source database"},
		{[]string{"sample", "--source", dsn}, "no target database"},
		{[]string{"sample", "--source", dsn, "--target", dsn, "--rows", "5", "--percent", "3"}, "rows percent"},
		{[]string{"sample", "--source", dsn, "--target", dsn, "--percent", "0"}, "--percent must be above 0"},
		{[]string{"sample", "--source", dsn, "--target", dsn, "--percent", "101"}, "--percent must be above 0"},
		{[]string{"sample", "--source", dsn, "--target", dsn, "--rows", "0"}, "--rows must be at least 1"},
		{[]string{"sample", "--source", dsn, "--target", dsn, "--method", "random"}, `unknown --method "random"`},
		{[]string{"sample", "--source", dsn, "--target", dsn, "--seed", "-5"}, "--seed must be between"},
		{[]string{"sample", "--source", "postgres://x:secret@127.0.0.1:1/db", "--target", dsn}, "cannot connect to source"},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "secret") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestSampleCLI runs the command end to end against PG 13 → 16 logical
// replication: a clean replica exits 0 with the confidence statement and
// the seed; the same seed repeats the sample; a damaged row found by a
// full sample exits 1; a table missing on the target exits 2.
func TestSampleCLI(t *testing.T) {
	ctx := context.Background()
	src, dst := clusterPair(t, "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric); CREATE TABLE notes (body text)",
		"INSERT INTO items SELECT g, 'item ' || g, g * 0.5 FROM generate_series(1, 20000) g; ANALYZE items", true)
	args := []string{"sample", "--source", src.DSN("app"), "--target", dst.DSN("app"), "--rows", "2000", "--seed", "99"}

	code, out, errOut := runCLI(append(args, "--format", "json")...)
	if code != 0 {
		t.Fatalf("clean replica: exit %d\n%s%s", code, out, errOut)
	}
	var doc struct {
		Seed   int64
		Tables []struct {
			Table, Status string
			Sampled       int64
			UpperBound    *float64 `json:"upper_bound"`
		}
		Summary struct{ Sampled, Differing int64 }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if doc.Seed != 99 || len(doc.Tables) != 2 || doc.Tables[0].Table != "public.items" || doc.Tables[0].Status != "ok" ||
		doc.Tables[1].Status != "skipped" || doc.Tables[0].UpperBound == nil || doc.Summary.Differing != 0 {
		t.Fatalf("unexpected report:\n%s", out)
	}
	_, again, _ := runCLI(append(args, "--format", "json")...)
	var doc2 struct{ Summary struct{ Sampled int64 } }
	if err := json.Unmarshal([]byte(again), &doc2); err != nil || doc2.Summary.Sampled != doc.Summary.Sampled {
		t.Fatalf("same seed sampled %d then %d rows", doc.Summary.Sampled, doc2.Summary.Sampled)
	}

	// Text: the statement and how to repeat the run.
	code, out, _ = runCLI(args...)
	if code != 0 || !strings.Contains(out, "sampled rows differ: with 95% confidence fewer than") ||
		!strings.Contains(out, "--seed 99") || strings.Contains(out, src.Password) {
		t.Fatalf("text report (exit %d):\n%s", code, out)
	}
	// Without --seed a random one is chosen and printed.
	code, out, _ = runCLI("sample", "--source", src.DSN("app"), "--target", dst.DSN("app"), "--table", "items")
	if code != 0 || !strings.Contains(out, "repeat this sample with: --method bernoulli --seed ") {
		t.Fatalf("random seed (exit %d):\n%s", code, out)
	}

	// A damaged row on the target, found by a full sample: exit 1.
	if err := dst.Exec(ctx, "app", "UPDATE items SET price = price + 1 WHERE id = 12345"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI("sample", "--source", src.DSN("app"), "--target", dst.DSN("app"), "--percent", "100", "--table", "items")
	if code != 1 || !strings.Contains(out, "id=12345") || !strings.Contains(out, "price") {
		t.Fatalf("damaged row (exit %d):\n%s", code, out)
	}

	// A table only on the source cannot be verified: the report, then exit 2.
	if err := src.Exec(ctx, "app", "CREATE TABLE extra (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI("sample", "--source", src.DSN("app"), "--target", dst.DSN("app"), "--table", "extra")
	if code != 2 || !strings.Contains(out, "table missing on the target") || !strings.Contains(errOut, "could not be sampled") {
		t.Fatalf("missing table (exit %d):\n%s\n%s", code, out, errOut)
	}
}
