package sequences

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

func bi(v int64) *big.Int { return big.NewInt(v) }

func str(b *big.Int) string {
	if b == nil {
		return "nil"
	}
	return b.String()
}

func TestEvaluate(t *testing.T) {
	asc := Params{DataType: "bigint", Start: 1, Increment: 1, Min: 1, Max: math.MaxInt64}
	desc := Params{DataType: "bigint", Start: -1, Increment: -1, Min: math.MinInt64, Max: -1}
	int4 := Params{DataType: "integer", Start: 1, Increment: 1, Min: 1, Max: math.MaxInt32}
	by10 := Params{DataType: "bigint", Start: 1, Increment: 10, Min: 1, Max: math.MaxInt64}
	cases := []struct {
		name           string
		p              Params
		tv             Value
		src            *Value
		colMin, colMax *big.Int
		margin         int64
		safe           bool
		required, next string
		sync           string
		rangeErr       bool
	}{
		{name: "both never called", p: asc, tv: Value{1, false}, src: &Value{1, false},
			safe: true, required: "1", next: "1", sync: "nil"},
		{name: "source ahead", p: asc, tv: Value{1, false}, src: &Value{100, true}, colMax: bi(100), margin: 1000,
			safe: false, required: "101", next: "1", sync: "1100"},
		{name: "column max above source", p: asc, tv: Value{150, true}, src: &Value{100, true}, colMax: bi(500), margin: 0,
			safe: false, required: "501", next: "151", sync: "500"},
		{name: "target exactly at the edge is safe", p: asc, tv: Value{100, true}, src: &Value{100, true}, colMax: bi(100),
			safe: true, required: "101", next: "101", sync: "nil"},
		{name: "target ahead stays", p: asc, tv: Value{9000, true}, src: &Value{100, true}, colMax: bi(100),
			safe: true, required: "101", next: "9001", sync: "nil"},
		{name: "setval false on source", p: asc, tv: Value{4999, true}, src: &Value{5000, false},
			safe: true, required: "5000", next: "5000", sync: "nil"},
		{name: "setval false on target not enough", p: asc, tv: Value{100, false}, src: &Value{100, true}, margin: 5,
			safe: false, required: "101", next: "100", sync: "105"},
		{name: "zero margin lands right after", p: asc, tv: Value{100, false}, src: &Value{100, true}, margin: 0,
			safe: false, required: "101", next: "100", sync: "100"},
		{name: "only columns (target-only sequence)", p: asc, tv: Value{1, false}, colMax: bi(42), margin: 10,
			safe: false, required: "43", next: "1", sync: "52"},
		{name: "no constraint", p: asc, tv: Value{1, false},
			safe: true, required: "nil", next: "1", sync: "nil"},
		{name: "increment 10", p: by10, tv: Value{91, true}, src: &Value{101, true}, margin: 0,
			safe: false, required: "102", next: "101" /* 91+10 collides with the source's 101 */, sync: "101"},
		{name: "descending behind", p: desc, tv: Value{-1, false}, src: &Value{-50, true}, colMin: bi(-60), margin: 100,
			safe: false, required: "-61", next: "-1", sync: "-160"},
		{name: "descending safe", p: desc, tv: Value{-70, true}, src: &Value{-50, true}, colMin: bi(-60),
			safe: true, required: "-61", next: "-71", sync: "nil"},
		{name: "descending ignores column max", p: desc, tv: Value{-70, true}, colMin: bi(-60), colMax: bi(1000),
			safe: true, required: "-61", next: "-71", sync: "nil"},
		{name: "int4 overflow", p: int4, tv: Value{1, false}, src: &Value{math.MaxInt32 - 10, true}, margin: 1000,
			safe: false, required: "2147483638", next: "1", sync: "2147484637", rangeErr: true},
		{name: "int4 exactly full", p: int4, tv: Value{1, false}, src: &Value{math.MaxInt32 - 1, true}, margin: 1,
			safe: false, required: "2147483647", next: "1", sync: "2147483647", rangeErr: true},
		{name: "int4 fits", p: int4, tv: Value{1, false}, src: &Value{math.MaxInt32 - 2, true}, margin: 1,
			safe: false, required: "2147483646", next: "1", sync: "2147483646"},
		{name: "bigint near max no overflow in math", p: asc, tv: Value{1, false}, src: &Value{math.MaxInt64 - 1, true}, margin: 1000,
			safe: false, required: "9223372036854775807", next: "1", sync: "9223372036854776806", rangeErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := evaluate(c.p, c.tv, c.src, c.colMin, c.colMax, c.margin)
			if got.safe != c.safe || str(got.required) != c.required || str(got.next) != c.next || str(got.syncValue) != c.sync {
				t.Fatalf("got safe=%v required=%s next=%s sync=%s; want safe=%v required=%s next=%s sync=%s",
					got.safe, str(got.required), str(got.next), str(got.syncValue), c.safe, c.required, c.next, c.sync)
			}
			var re *RangeError
			if errors.As(got.syncErr, &re) != c.rangeErr {
				t.Fatalf("syncErr = %v, want range error %v", got.syncErr, c.rangeErr)
			}
			if got.syncValue != nil && !c.rangeErr {
				// The sync value must make the sequence safe and never move it back.
				after := evaluate(c.p, Value{got.syncValue.Int64(), true}, c.src, c.colMin, c.colMax, c.margin)
				if !after.safe {
					t.Fatalf("after sync to %s still unsafe (next %s, required %s)", got.syncValue, after.next, after.required)
				}
				last := bi(c.tv.LastValue)
				if c.p.Increment > 0 && got.syncValue.Cmp(last) < 0 || c.p.Increment < 0 && got.syncValue.Cmp(last) > 0 {
					t.Fatalf("sync value %s moves the sequence backwards from %d", got.syncValue, c.tv.LastValue)
				}
			}
		})
	}
}

func TestRatBound(t *testing.T) {
	for _, c := range []struct {
		in   string
		up   bool
		want string
	}{
		{"42", true, "42"}, {"42", false, "42"}, {"41.2", true, "42"}, {"41.2", false, "41"},
		{"-41.2", true, "-41"}, {"-41.2", false, "-42"}, {"-5", false, "-5"},
		{"123456789012345678901234567890", true, "123456789012345678901234567890"},
	} {
		got, err := ratBound(c.in, c.up)
		if err != nil || got.String() != c.want {
			t.Errorf("ratBound(%q, %v) = %v, %v; want %s", c.in, c.up, got, err, c.want)
		}
	}
	if _, err := ratBound("NaN", true); err == nil {
		t.Error("ratBound(NaN) did not fail")
	}
}
