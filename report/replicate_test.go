package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgverify/pgverify/replicate"
)

func replicateFixture() *replicate.Result {
	return &replicate.Result{
		Source: replicate.Server{Version: 130023, Database: "shop"},
		Target: replicate.Server{Version: 160014, Database: "shop"},
		Steps: []replicate.Step{
			{Name: "preflight", Status: replicate.StepDone, Detail: "0 blocker, 0 critical, 1 warning on the source and target", Duration: 120 * time.Millisecond},
			{Name: "target database", Status: replicate.StepSkipped, Detail: "database shop exists on the target"},
			{Name: "schema", Status: replicate.StepDone, Detail: "applied pg_dump --schema-only (pg_dump 15.18) of 4 tables through psql in one transaction", Duration: 1500 * time.Millisecond},
			{Name: "initial sync", Status: replicate.StepFailed, Detail: "app.items does not sync: unqualified function reference", Duration: 6 * time.Second},
		},
		Gates: []replicate.Gate{
			{Name: "preflight", Verdict: replicate.Pass, Summary: "0 blocker, 0 critical, 1 warning on the source and target", Duration: 120 * time.Millisecond,
				Details: []string{"PF020 warning (source): sequences are not replicated: public.seq"}},
			{Name: "schema diff", Verdict: replicate.Fail, Summary: "1 difference(s), 0 notice(s)", Duration: 80 * time.Millisecond,
				Details: []string{"column public.t.c missing"}},
		},
		Tables: []replicate.TableSync{
			{Table: "app.items", State: "d", RowsCopied: 1200, EstRows: 2000},
			{Table: `public."Order Items"`, State: "r", Done: true, AlreadyReady: true, EstRows: 90000},
		},
		Diagnosis: &replicate.Diagnosis{Table: "app.items", Cause: "unqualified function reference",
			Detail: "function app.valid_code(text) calls canon_code() without a schema",
			Fix:    "ALTER FUNCTION app.valid_code(text) SET search_path TO pg_catalog, app, pg_temp;"},
		Plumbing: []string{"publication pgverify on the source", "subscription pgverify on the target"},
		Duration: 8 * time.Second,
	}
}

func TestReplicateGolden(t *testing.T) {
	for _, c := range []struct {
		f    Format
		name string
	}{{Text, "replicate.txt"}, {JSON, "replicate.json"}} {
		var b bytes.Buffer
		if err := Replicate(&b, c.f, replicateFixture()); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, c.name, b.Bytes())
	}
}

func TestReplicateProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := ReplicateProgress(&b, false)
	snap := replicate.SyncSnapshot{Tables: []replicate.TableSync{{Table: "a.t", Done: true, EstRows: 10, SyncedIn: time.Second}, {Table: "a.u", State: "d"}}}
	p.Sync(snap)
	p.Sync(snap)
	if got, want := b.String(), "sync: a.t ready (10 rows, 1s)\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReplicateProgressTerminal(t *testing.T) {
	var b bytes.Buffer
	p := ReplicateProgress(&b, true)
	p.Sync(replicate.SyncSnapshot{Elapsed: 10 * time.Second, RowsCopied: 50000, EstRows: 150000, Ready: 1,
		Tables: []replicate.TableSync{{Table: "a.t", Done: true}, {Table: "a.u", State: "d"}}})
	if got, want := b.String(), "\r\033[Ksync: 1/2 tables ready, 50000 rows copied, 5000 rows/s, ETA 20s"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
