package report

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/pgverify/pgverify/sequences"
)

func sequencesFixture(synced bool) *sequences.Result {
	b := func(v int64) *big.Int { return big.NewInt(v) }
	asc := sequences.Params{DataType: "bigint", Start: 1, Increment: 1, Min: 1, Max: 9223372036854775807}
	desc := sequences.Params{DataType: "integer", Start: -1, Increment: -1, Min: -2147483648, Max: -1}
	side := func(p sequences.Params, last int64, called bool) *sequences.Side {
		return &sequences.Side{Params: p, Value: &sequences.Value{LastValue: last, IsCalled: called}}
	}
	orders := sequences.Sequence{Schema: "public", Name: "orders_id_seq", Display: "public.orders_id_seq",
		Source: side(asc, 25, true), Target: side(asc, 1, false),
		Columns: []sequences.Column{{Table: "public.orders", Schema: "public", Name: "orders", Column: "id",
			Links: []string{"default", "owned"}, DataType: "integer", Min: b(1), Max: b(500), Compared: true}},
		ColumnMax: b(500), ColumnMin: b(1), Required: b(501), TargetNext: b(1), SyncValue: b(1500),
		Status: sequences.Unsafe,
		Detail: "the target's next value 1 is not above what is already used (needs >= 501); --sync sets it to 1500"}
	if synced {
		orders.Before = &sequences.Value{LastValue: 1}
		orders.After = &sequences.Value{LastValue: 1500, IsCalled: true}
		orders.Target = side(asc, 1500, true)
		orders.TargetNext, orders.SyncValue, orders.Status, orders.Detail = b(1501), nil, sequences.Synced, ""
	}
	return &sequences.Result{
		Margin:  1000,
		SyncRan: synced,
		Sequences: []sequences.Sequence{
			{Schema: "app", Name: "desc_seq", Display: "app.desc_seq", Source: side(desc, -20, true), Target: side(desc, -5000, true),
				ColumnMin: b(-20), ColumnMax: b(-1), Required: b(-21), TargetNext: b(-5001), Status: sequences.Safe},
			{Schema: "app", Name: "new_seq", Display: "app.new_seq", Source: side(asc, 7, true), Status: sequences.MissingOnTarget,
				Detail: "sequence app.new_seq does not exist on the target and --sync cannot create it: create it there (pg_dump --schema-only --table app.new_seq from the source), then rerun with --sync"},
			{Schema: "app", Name: "secret", Display: "app.secret", Source: side(asc, 3, true), Target: &sequences.Side{Params: asc},
				Status: sequences.Error, Detail: "cannot read sequence app.secret on the target: no SELECT privilege (GRANT SELECT ON SEQUENCE app.secret TO the pgverify role)"},
			orders,
			{Schema: "public", Name: "tags_seq", Display: "public.tags_seq", Target: side(asc, 1, false),
				Columns:  []sequences.Column{{Table: "public.tags", Schema: "public", Name: "tags", Column: "k", Links: []string{"default"}, DataType: "text"}},
				Required: nil, TargetNext: b(1), Status: sequences.Safe,
				Notes: []string{"exists only on the target: checked against its columns only", `column public.tags.k (text) draws from it but is not a number: not compared`}},
		},
	}
}

func TestSequencesGolden(t *testing.T) {
	for _, synced := range []bool{false, true} {
		for _, f := range []Format{Text, JSON} {
			var buf bytes.Buffer
			if err := Sequences(&buf, f, sequencesFixture(synced)); err != nil {
				t.Fatal(err)
			}
			name := "sequences"
			if synced {
				name += "_sync"
			}
			checkGolden(t, name+"."+string(f), buf.Bytes())
		}
	}
}

func TestSequencesVerdict(t *testing.T) {
	for _, c := range []struct {
		s    sequences.Summary
		want string
	}{
		{sequences.Summary{Total: 2, Safe: 1, Synced: 1}, "safe"},
		{sequences.Summary{Total: 2, Safe: 1, Unsafe: 1}, "unsafe"},
		{sequences.Summary{Total: 2, Safe: 1, MissingOnTarget: 1}, "unsafe"},
		{sequences.Summary{Total: 2, Unsafe: 1, Error: 1}, "unsafe"},
		{sequences.Summary{Total: 2, Safe: 1, Error: 1}, "unverified"},
	} {
		if got := SequencesVerdict(c.s); got != c.want {
			t.Errorf("%+v: %s, want %s", c.s, got, c.want)
		}
	}
}
