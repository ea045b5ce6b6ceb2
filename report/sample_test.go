package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/pgverify/pgverify/sampler"
)

func TestSamplePercent(t *testing.T) {
	for f, want := range map[float64]string{
		0:            "0%",
		2.99528e-4:   "0.03%", // 10,000 rows, none differ
		3.044e-4:     "0.031%",
		0.002:        "0.2%",
		0.4555824:    "46%",
		1e-6:         "0.0001%",
		1.0000001e-6: "0.00011%", // rounded up, never down
		0.999:        "100%",
		1:            "100%",
	} {
		if got := SamplePercent(f); got != want {
			t.Errorf("SamplePercent(%g) = %s, want %s", f, got, want)
		}
	}
	if SampleCount(1234567) != "1,234,567" || SampleCount(999) != "999" || SampleCount(1000) != "1,000" {
		t.Error("SampleCount separators")
	}
}

func sampleBoundOf(f float64) *float64 { return &f }

// sampleFixture is the example: 10,000 rows, none differ.
func sampleFixture() *sampler.Result {
	return &sampler.Result{
		Method: sampler.Bernoulli, Seed: 1234, Rows: 10000, Confidence: 0.95,
		Tables: []sampler.TableResult{{
			Table: "public.orders", Status: sampler.StatusOK, Method: sampler.Bernoulli, Percent: 0.2,
			EstimatedRows: 5000000, KeyColumns: []string{"id"}, Sampled: 10000,
			UpperBound: sampleBoundOf(sampler.UpperBound(10000, 0, 0.95)), ElapsedMS: 812,
		}},
		Summary: sampler.Summary{Tables: 1, OK: 1, Sampled: 10000, UpperBound: sampleBoundOf(sampler.UpperBound(10000, 0, 0.95))},
	}
}

func TestSampleStatementExample(t *testing.T) {
	want := "0 of 10,000 sampled rows differ: with 95% confidence fewer than 0.03% of rows differ"
	if got := SampleStatement(sampleFixture()); got != want {
		t.Errorf("statement:\n got %s\nwant %s", got, want)
	}
}

func TestSampleText(t *testing.T) {
	var b bytes.Buffer
	if err := SampleText(&b, sampleFixture()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "sample_clean.txt", b.Bytes())

	r := sampleDifferFixture()
	b.Reset()
	if err := SampleText(&b, r); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "sample_differ.txt", b.Bytes())
}

func TestSampleJSON(t *testing.T) {
	var b bytes.Buffer
	if err := SampleJSON(&b, sampleFixture()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "sample.json", b.Bytes())
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["method"] != "bernoulli" || doc["seed"] != float64(1234) || doc["confidence"] != 0.95 {
		t.Fatalf("unexpected JSON: %s", b.String())
	}
}

// sampleDifferFixture has several tables: a difference, a census, a
// skipped table, an error, SYSTEM sampling and a live subscription.
func sampleDifferFixture() *sampler.Result {
	return &sampler.Result{
		Method: sampler.System, Seed: 7, Rows: 5000, Confidence: 0.95,
		Tables: []sampler.TableResult{
			{Table: "public.orders", Status: sampler.StatusDiffer, Method: sampler.System, Percent: 1.5,
				KeyColumns: []string{"region", "id"}, Sampled: 5012, Differing: 3, Missing: 1, Changed: 2,
				UpperBound: sampleBoundOf(sampler.UpperBound(5012, 3, 0.95)), BoundApproximate: true,
				Differences: []sampler.Difference{
					{Key: []string{"eu", "42"}, Kind: sampler.KindChanged, Columns: []string{"amount", "note"}},
					{Key: []string{"us", "7"}, Kind: sampler.KindMissing},
				}},
			{Table: "public.small", Status: sampler.StatusOK, Method: sampler.All, Percent: 100,
				KeyColumns: []string{"id"}, Sampled: 120, UpperBound: sampleBoundOf(0), BoundExact: true},
			{Table: "public.logs", Status: sampler.StatusSkipped, Reason: "no primary key"},
			{Table: "public.gone", Status: sampler.StatusError, Reason: "table missing on the target: run pgverify schema diff"},
		},
		Summary: sampler.Summary{Tables: 4, OK: 1, Differ: 1, Skipped: 1, Errors: 1, Sampled: 5132, Differing: 3,
			UpperBound: sampleBoundOf(sampler.UpperBound(5012, 3, 0.95)), BoundApproximate: true},
		Replication: &sampler.Replication{Subscriptions: []string{"upgrade"}, Slots: []string{"upgrade"}, Rounds: 1, CaughtUp: true},
	}
}
