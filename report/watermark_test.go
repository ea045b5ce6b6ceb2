package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgverify/pgverify/watermark"
)

func watermarkFixture() *watermark.Result {
	s := func(v string) *string { return &v }
	n := func(v int64) *int64 { return &v }
	return &watermark.Result{
		SourceLSN: "0/1A2B3C4",
		Slots:     []string{"upgrade_sub"},
		Timeout:   time.Minute,
		Tables: []watermark.TableResult{
			{Table: "public.transactions", Schema: "public", Name: "transactions", Column: "id", Type: "bigint", TargetType: "bigint",
				Watermark: s("1000042"), SourceRows: 1000042, InitialSourceRows: 1000041, TargetRows: n(1000042),
				Waited: 340 * time.Millisecond, Status: watermark.Match, Confirmation: "slot",
				Notes: []string{"1 rows at or below the watermark were committed on the source after it was read (transactions in flight then, normal under concurrent inserts, or rows inserted with a smaller id): the source was counted again"}},
			{Table: "public.events", Schema: "public", Name: "events", Column: "created_at", Type: "timestamp with time zone",
				Watermark: s("2025-03-01 12:00:00.123456+00"), SourceRows: 5000, InitialSourceRows: 5000, TargetRows: n(4998),
				Waited: 1200 * time.Millisecond, Status: watermark.Mismatch, Confirmation: "slot",
				Detail:   "the target has 2 rows fewer than the source with created_at <= 2025-03-01 12:00:00.123456+00: rows were lost",
				Warnings: []string{"not append-only: the source's pg_stat_user_tables counts 3 updates and 0 deletes on public.events since statistics were reset"}},
			{Table: `public."Audit Log"`, Schema: "public", Name: "Audit Log", Column: "id", Type: "integer",
				Watermark: s("77"), SourceRows: 77, InitialSourceRows: 77,
				Waited: time.Minute, Status: watermark.Timeout,
				Detail: "the target has no row with id >= 77 after 1m0s: replication is behind or stopped (check pg_stat_subscription on the target)"},
			{Table: "public.empty", Schema: "public", Name: "empty", Column: "id", Type: "bigint",
				Status:   watermark.Match,
				Warnings: []string{"the table has no rows with a value in id on the source: nothing to verify"}},
		},
	}
}

func TestWatermarkGolden(t *testing.T) {
	for _, f := range []Format{Text, JSON} {
		var b bytes.Buffer
		if err := Watermark(&b, f, watermarkFixture()); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "watermark."+string(f), b.Bytes())
	}
	// All equal and nothing tracked: the verdict line says how catch-up was judged.
	r := watermarkFixture()
	r.Tables, r.Slots = r.Tables[:1], nil
	var b bytes.Buffer
	if err := Watermark(&b, Text, r); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "watermark_match.text", b.Bytes())
}

func TestWatermarkVerdict(t *testing.T) {
	for _, c := range []struct {
		s    watermark.Summary
		want string
	}{
		{watermark.Summary{Total: 2, Match: 2}, "match"},
		{watermark.Summary{Total: 2, Match: 1, Mismatch: 1}, "mismatch"},
		{watermark.Summary{Total: 2, Mismatch: 1, Timeout: 1}, "mismatch"},
		{watermark.Summary{Total: 2, Match: 1, Error: 1}, "unverified"},
		{watermark.Summary{Total: 1, Timeout: 1}, "unverified"},
	} {
		if got := WatermarkVerdict(c.s); got != c.want {
			t.Errorf("%+v: %s, want %s", c.s, got, c.want)
		}
	}
}

func TestWatermarkProgress(t *testing.T) {
	var b bytes.Buffer
	p := WatermarkProgress(&b)
	p(watermark.Progress{Index: 1, Total: 2, Table: "public.t", Column: "id", Watermark: "42", Phase: watermark.PhaseWaiting,
		Waited: 3 * time.Second, Timeout: time.Minute})
	p(watermark.Progress{Index: 1, Total: 2, Table: "public.t", Column: "id", Phase: watermark.PhaseDone})
	p(watermark.Progress{Index: 2, Total: 2, Table: "public.u", Column: "id", Phase: watermark.PhaseDone})
	want := "\r\033[K[1/2] public.t (id): waiting for the target to reach 42 (3s of 1m0s)\r\033[K"
	if b.String() != want {
		t.Errorf("progress %q, want %q", b.String(), want)
	}
}
