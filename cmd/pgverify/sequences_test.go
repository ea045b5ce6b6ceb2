package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
	"github.com/pgverify/pgverify/report"
)

func seqCLIValue(t *testing.T, c *pgcluster.Cluster, seq string) (int64, bool) {
	t.Helper()
	ctx := context.Background()
	conn, err := c.Connect(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int64
	var called bool
	if err := conn.QueryRow(ctx, "SELECT last_value, is_called FROM "+seq).Scan(&v, &called); err != nil {
		t.Fatal(err)
	}
	return v, called
}

func TestSequencesCLI(t *testing.T) {
	src, dst := clusterPair(t, `
		CREATE TABLE public.orders (id serial PRIMARY KEY, note text);
		CREATE TABLE public.users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
		CREATE SEQUENCE public.doc_no;
		CREATE TABLE public.invoices (no bigint PRIMARY KEY DEFAULT nextval('public.doc_no'));
		CREATE TABLE public.credit_notes (no bigint PRIMARY KEY DEFAULT nextval('public.doc_no'));
		CREATE SEQUENCE public.ahead;`,
		`INSERT INTO public.orders (note) SELECT 'o' FROM generate_series(1, 25);
		 INSERT INTO public.orders (id, note) VALUES (500, 'explicit id');
		 INSERT INTO public.users SELECT FROM generate_series(1, 12);
		 INSERT INTO public.invoices SELECT FROM generate_series(1, 7);
		 INSERT INTO public.credit_notes SELECT FROM generate_series(1, 3);
		 SELECT nextval('public.ahead');`, true)
	execSQL(t, dst, `SELECT setval('public.ahead', 90000)`)
	conn := []string{"--source", src.DSN("app"), "--target", dst.DSN("app")}
	seq := func(args ...string) (int, string, string) {
		return runCLI(append(append([]string{"sequences"}, conn...), args...)...)
	}
	doc := func(out string) report.SequencesJSON {
		t.Helper()
		var d report.SequencesJSON
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return d
	}
	status := func(d report.SequencesJSON) map[string]string {
		m := map[string]string{}
		for _, s := range d.Sequences {
			m[s.Sequence] = s.Status
		}
		return m
	}

	// Behind: exit 1, and the read-only check changes nothing.
	code, out, errs := seq()
	if code != 1 || errs != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	for _, want := range []string{"public.orders_id_seq", "25", "1 (not called)", ">= 501", "unsafe: 3 unsafe of 4 sequence(s); run with --sync"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if v, called := seqCLIValue(t, dst, "public.orders_id_seq"); v != 1 || called {
		t.Fatalf("check without --sync moved orders_id_seq to %d", v)
	}

	code, out, _ = seq("--format", "json")
	d := doc(out)
	if code != 1 || d.Summary.Verdict != "unsafe" || d.Summary.Unsafe != 3 || d.Summary.Safe != 1 || d.Sync {
		t.Fatalf("exit %d, summary %+v", code, d.Summary)
	}
	want := map[string]string{"public.orders_id_seq": "unsafe", "public.users_id_seq": "unsafe", "public.doc_no": "unsafe", "public.ahead": "safe"}
	for k, v := range want {
		if status(d)[k] != v {
			t.Errorf("%s: %s, want %s", k, status(d)[k], v)
		}
	}

	// --sync: moves them, exit 0, report before/after.
	code, out, errs = seq("--sync", "--margin", "100", "--format", "json")
	d = doc(out)
	if code != 0 || errs != "" || d.Summary.Synced != 3 || d.Summary.Verdict != "safe" || !d.Sync {
		t.Fatalf("sync: exit %d, stderr %q, summary %+v", code, errs, d.Summary)
	}
	for _, s := range d.Sequences {
		if s.Sequence == "public.orders_id_seq" && (s.Target.LastValue != 1 || s.Target.IsCalled || s.After.LastValue != 600 || !s.After.IsCalled) {
			t.Errorf("orders before/after: %+v %+v", s.Target, s.After)
		}
	}
	for name, w := range map[string]int64{"public.orders_id_seq": 600, "public.users_id_seq": 112, "public.doc_no": 110, "public.ahead": 90000} {
		if v, called := seqCLIValue(t, dst, name); v != w || !called {
			t.Errorf("%s = %d (called %v), want %d", name, v, called, w)
		}
	}
	// The target takes inserts without duplicate keys now.
	execSQL(t, dst, `INSERT INTO public.orders (note) VALUES ('after switch'); INSERT INTO public.users DEFAULT VALUES;
		INSERT INTO public.invoices DEFAULT VALUES; INSERT INTO public.credit_notes DEFAULT VALUES`)

	// Idempotent: nothing to do, nothing moves (the inserts above advanced
	// the sequences themselves, never backwards).
	code, out, _ = seq("--sync", "--margin", "100000")
	if code != 0 || !strings.Contains(out, "nothing to sync") {
		t.Fatalf("second sync: exit %d\n%s", code, out)
	}
	if v, _ := seqCLIValue(t, dst, "public.orders_id_seq"); v != 601 {
		t.Errorf("orders_id_seq = %d after the second sync, want 601", v)
	}
	if v, _ := seqCLIValue(t, dst, "public.ahead"); v != 90000 {
		t.Errorf("ahead = %d, want 90000 (never backwards)", v)
	}

	// A sequence missing on the target cannot be synced: exit 1 with the fix.
	execSQL(t, src, `CREATE SEQUENCE public.cli_only`)
	code, out, _ = seq("--sync")
	if code != 1 || !strings.Contains(out, "missing_on_target") || !strings.Contains(out, "pg_dump --schema-only --table public.cli_only") ||
		!strings.Contains(out, "1 missing on the target") {
		t.Fatalf("missing: exit %d\n%s", code, out)
	}
	code, _, _ = seq("--exclude", "public.cli_only")
	if code != 0 {
		t.Errorf("--exclude: exit %d", code)
	}

	// Bad input: exit 2, one line.
	for _, c := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"--margin", "-1"}, "--margin must be >= 0, got -1", true},
		{[]string{"--margin", "x"}, "invalid argument", true},
		{[]string{"--sequence", "public.["}, "bad table pattern", true},
		{[]string{"--sequence", "public.nothing*"}, `no sequence matches "public.nothing*"`, false},
	} {
		code, out, errs := seq(c.args...)
		if code != 2 || out != "" {
			t.Errorf("%v: exit %d, stdout %q", c.args, code, out)
		}
		assertOneLine(t, errs, c.want, c.usage, "")
	}
	code, _, errs = runCLI("sequences", "--target", dst.DSN("app"))
	if code != 2 {
		t.Errorf("no source: exit %d", code)
	}
	assertOneLine(t, errs, "no source database: pass --source DSN or set PGVERIFY_SOURCE", true, "")
}
