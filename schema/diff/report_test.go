package diff_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/schema/diff"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestReportGolden renders a real comparison as text and JSON and compares
// with testdata/golden; run with -update after an intended change.
func TestReportGolden(t *testing.T) {
	res := diff.GoldenResult(t)
	var text, js bytes.Buffer
	if err := report.SchemaDiffText(&text, res); err != nil {
		t.Fatal(err)
	}
	if err := report.SchemaDiffJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", text.Bytes())
	golden(t, "report.json", js.Bytes())

	// The documented JSON contract.
	var doc struct {
		Differences []map[string]any `json:"differences"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Differences) == 0 {
		t.Fatal("no differences in the JSON report")
	}
	for _, d := range doc.Differences {
		for _, k := range []string{"object_type", "object", "kind", "severity", "source", "target"} {
			if _, ok := d[k]; !ok {
				t.Errorf("difference %v lacks %q", d, k)
			}
		}
		switch d["kind"] {
		case "missing", "extra", "changed":
		default:
			t.Errorf("bad kind %v", d["kind"])
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -run TestReportGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
