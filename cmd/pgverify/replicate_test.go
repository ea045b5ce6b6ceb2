package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

func TestReplicateCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Postgres")
	}
	ctx := context.Background()
	src, err := pgcluster.Start(ctx, pgcluster.Options{Major: 13, Name: "clirepsrc"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Stop() })
	dst, err := pgcluster.Start(ctx, pgcluster.Options{Major: 16, Name: "clirepdst"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Stop() })
	if err := src.CreateDB(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := src.Exec(ctx, "app", `
CREATE FUNCTION public.canon(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION public.ok(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN canon(t) = t; END $$;
CREATE TABLE public.items (id int PRIMARY KEY, code text CONSTRAINT code_ok CHECK (public.ok(code)));
INSERT INTO public.items SELECT g, 'c' || g FROM generate_series(1, 100) g;`); err != nil {
		t.Fatal(err)
	}
	args := []string{"replicate", "--source", src.DSN("app"), "--target", dst.DSN("app"), "--create-database", "--no-progress"}

	code, out, stderr := runCLI(append(args, "--format", "json")...)
	if code != 1 {
		t.Fatalf("lint gate: exit %d, stderr %s", code, stderr)
	}
	var doc struct {
		Gates   []struct{ Name, Verdict string } `json:"gates"`
		Summary struct{ Verdict string }         `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Summary.Verdict != "fail" || doc.Gates[len(doc.Gates)-1].Name != "lint" || doc.Gates[len(doc.Gates)-1].Verdict != "fail" {
		t.Errorf("json: %+v", doc)
	}

	// The same stop, for CI: the lint gate is a failing test case.
	code, out, stderr = runCLI(append(args, "--format", "junit")...)
	if code != 1 {
		t.Fatalf("lint gate, junit: exit %d, stderr %s", code, stderr)
	}
	var suites struct {
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testsuite>testcase"`
	}
	if err := xml.Unmarshal([]byte(out), &suites); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var lintFailed bool
	for _, c := range suites.Cases {
		lintFailed = lintFailed || (c.Name == "gate lint" && c.Failure != nil)
	}
	if !lintFailed || suites.Failures == 0 || strings.Contains(out, src.Password) {
		t.Errorf("junit: lint gate not a failing case, or the password shows:\n%s", out)
	}

	report := filepath.Join(t.TempDir(), "report.txt")
	code, _, stderr = runCLI(append(args, "--fix-search-path", "-o", report)...)
	if code != 0 {
		t.Fatalf("--fix-search-path: exit %d, stderr %s", code, stderr)
	}
	b, _ := os.ReadFile(report)
	if !strings.Contains(string(b), "pass: 8 of 8 gate(s) passed") || strings.Contains(string(b), src.Password) {
		t.Errorf("report:\n%s", b)
	}

	code, out, _ = runCLI(append(args, "--fix-search-path", "--plan")...)
	if code != 0 || !strings.Contains(out, "subscription     skipped (already there)") {
		t.Errorf("--plan after the run: exit %d\n%s", code, out)
	}

	code, _, stderr = runCLI("replicate", "--source", src.DSN("app"), "--target", src.DSN("app"))
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "same database") || strings.Contains(stderr, src.Password) {
		t.Errorf("source == target: exit %d, stderr %q", code, stderr)
	}
}
