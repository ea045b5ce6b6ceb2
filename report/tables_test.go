package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgverify/pgverify/checksum"
)

func str(s string) *string { return &s }

func tablesFixture() *checksum.Result {
	return &checksum.Result{
		Tables: []checksum.TableResult{
			{Table: `public."Order Items"`, Status: checksum.StatusMismatch, RowsSource: 1000, RowsTarget: 999, Ranges: 4,
				Duration: 1500 * time.Millisecond, DurationMS: 1500, Rechecks: 1,
				DifferenceCount: 2,
				Differences: []checksum.Difference{
					{Kind: checksum.DiffMissing, Key: checksum.Key{{Column: "order_id", Value: str("5")}, {Column: "line", Value: str("1")}}},
					{Kind: checksum.DiffChanged, Key: checksum.Key{{Column: "order_id", Value: str("7")}, {Column: "line", Value: str("2")}}, Columns: []string{"sku", "qty"}},
				}},
			{Table: "public.accounts", Status: checksum.StatusMatch, RowsSource: 5000, RowsTarget: 5000, Ranges: 2, DurationMS: 250},
			{Table: "public.events", Status: checksum.StatusUnstable, RowsSource: 10, RowsTarget: 10, Ranges: 1, DurationMS: 40, Rechecks: 3,
				DifferenceCount: 1,
				Differences:     []checksum.Difference{{Kind: checksum.DiffUnstable, Key: checksum.Key{{Column: "id", Value: str("3")}}, Columns: []string{"n"}}},
				Notes:           []string{"2 row difference(s) seen in the snapshot matched once the target caught up (replication lag)"}},
			{Table: "public.log", Status: checksum.StatusMismatch, RowsSource: 3, RowsTarget: 3, Ranges: 1, NoKey: true,
				DifferenceCount: 1,
				Differences:     []checksum.Difference{{Kind: checksum.DiffExtra, Key: checksum.Key{{Column: "msg", Value: str("hi")}, {Column: "at", Value: nil}}}},
				Notes:           []string{"no primary key: compared as a multiset of whole rows"}},
			{Table: "public.secret", Status: checksum.StatusError, Error: "source: permission denied for table secret; GRANT SELECT ON \"public\".\"secret\" TO the verifying role"},
			{Table: "public.new_table", Status: checksum.StatusMissingOnSource},
		},
		Summary: checksum.Summary{Tables: 6, Match: 1, Mismatch: 2, Unstable: 1, MissingOnSource: 1, Errors: 1,
			RowsSource: 6013, RowsTarget: 6012, Differences: 4, DurationMS: 2100, SourceVersion: "13.23", TargetVersion: "16.14",
			SnapshotLSN: "0/16B3748", Replication: "target subscription app via source slot app", Verdict: checksum.VerdictDifferent},
	}
}

func TestTablesReportGolden(t *testing.T) {
	for _, f := range []Format{Text, JSON} {
		var b bytes.Buffer
		if err := Tables(&b, f, tablesFixture()); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "tables."+string(f), b.Bytes())
	}
}
