package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/pgverify/pgverify/preflight"
)

func preflightFixture() *preflight.Result {
	return &preflight.Result{
		Source: preflight.Server{Version: "130023", Major: 13},
		Target: &preflight.Server{Version: "160014", Major: 16},
		Findings: []preflight.Finding{
			{Code: "PF001", Severity: preflight.Blocker, Title: "wal_level is not logical", Side: "source",
				Objects: []string{"wal_level"}, Detail: "The source runs with wal_level = replica.",
				Remedy: "ALTER SYSTEM SET wal_level = logical; then restart the source server."},
			{Code: "PF004", Severity: preflight.Critical, Title: "tables without a usable replica identity", Side: "source",
				Objects: []string{"public.a", "public.b", "public.c", "public.d"},
				Detail:  "Once published, UPDATE and DELETE fail.\npublic.a: no primary key",
				Remedy:  "Add a primary key."},
			{Code: "PF020", Severity: preflight.Warning, Title: "sequences are not replicated", Side: "source",
				Objects: []string{"public.s"}, Detail: "Sequences are not replicated.", Remedy: "pgverify sequences"},
			{Code: "PF021", Severity: preflight.Info, Title: "no subscription in the target database", Side: "target",
				Objects: []string{}, Detail: "Subscription health was not checked.", Remedy: "Run again later."},
		},
		Summary: preflight.Summary{Blocker: 1, Critical: 1, Warning: 1, Info: 1},
		Ignored: []string{"PF019"},
	}
}

func TestPreflightText(t *testing.T) {
	var b bytes.Buffer
	if err := PreflightText(&b, preflightFixture()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "preflight.txt", b.Bytes())

	b.Reset()
	if err := PreflightText(&b, &preflight.Result{Source: preflight.Server{Version: "170010", Major: 17}}); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "preflight_clean.txt", b.Bytes())
}

func TestPreflightJSON(t *testing.T) {
	var b bytes.Buffer
	if err := PreflightJSON(&b, preflightFixture()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "preflight.json", b.Bytes())
	// The documented shape: severities as names, summary per severity.
	var doc struct {
		Findings []struct {
			Code, Severity, Title, Side, Detail, Remedy string
			Objects                                     []string
		}
		Summary struct {
			Critical int
			Verdict  string
			ExitCode int `json:"exit_code"`
		}
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Findings[0].Severity != "blocker" || doc.Summary.Critical != 1 || doc.Summary.Verdict != "findings" || doc.Summary.ExitCode != 1 || len(doc.Findings[1].Objects) != 4 {
		t.Fatalf("unexpected JSON shape: %s", b.String())
	}
}
