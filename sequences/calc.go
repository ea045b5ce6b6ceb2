package sequences

import (
	"fmt"
	"math/big"
)

// plan is the verdict for one target sequence.
type plan struct {
	// required is the next value the target must reach: next >= required
	// for an ascending sequence, next <= required for a descending one. Nil
	// when nothing constrains the sequence.
	required *big.Int
	// next is the value the target's nextval() would return now.
	next *big.Int
	safe bool
	// syncValue is what Sync passes to setval(seq, v, true) when unsafe.
	syncValue *big.Int
	// syncErr says why syncValue cannot be set (it leaves the sequence's
	// range); nil when it can.
	syncErr error
}

// evaluate decides whether a target sequence is safe. Descending sequences
// are mirrored (every value negated) so one ascending rule serves both
// directions: values must stay strictly beyond everything already used.
//
//   - src is the source sequence's state (nil when the source has none).
//   - colMin and colMax are the extremes of the target columns that draw from
//     the sequence (nil when there are none or they hold no rows).
//
// The source's last value counts as used only when is_called is true;
// otherwise nextval() on the source would return last_value itself, so the
// target only has to reach it. margin is added to the sync value.
func evaluate(p Params, tv Value, src *Value, colMin, colMax *big.Int, margin int64) plan {
	d := big.NewInt(1)
	if p.Increment < 0 {
		d = big.NewInt(-1)
	}
	mirror := func(x *big.Int) *big.Int { return new(big.Int).Mul(x, d) }
	inc := new(big.Int).Abs(big.NewInt(p.Increment))
	one := big.NewInt(1)

	last := mirror(big.NewInt(tv.LastValue))
	next := new(big.Int).Set(last)
	if tv.IsCalled {
		next.Add(next, inc)
	}

	var required, used *big.Int // used: the furthest value known to be taken
	need := func(x *big.Int) {
		if required == nil || x.Cmp(required) > 0 {
			required = x
		}
	}
	taken := func(x *big.Int) {
		if used == nil || x.Cmp(used) > 0 {
			used = x
		}
	}
	if src != nil {
		sl := mirror(big.NewInt(src.LastValue))
		if src.IsCalled {
			need(new(big.Int).Add(sl, one))
		} else {
			need(new(big.Int).Set(sl))
		}
		taken(sl)
	}
	extreme := colMax
	if p.Increment < 0 {
		extreme = colMin
	}
	if extreme != nil {
		e := mirror(extreme)
		need(new(big.Int).Add(e, one))
		taken(e)
	}

	out := plan{next: mirror(next), safe: true}
	if required == nil {
		return out
	}
	out.required = mirror(required)
	if next.Cmp(required) >= 0 {
		return out
	}
	out.safe = false
	v := new(big.Int).Add(used, big.NewInt(margin))
	// Never backwards: unsafe implies v > last, but guard the invariant.
	if v.Cmp(last) < 0 {
		v.Set(last)
	}
	out.syncValue = mirror(v)
	out.syncErr = checkRange(p, out.syncValue)
	return out
}

// checkRange reports whether setval(seq, v, true) is allowed and leaves at
// least one value to hand out: setval needs min <= v <= max, and the next
// nextval() returns v + increment, which must stay inside the range too (a
// CYCLE sequence would wrap around and reuse keys).
func checkRange(p Params, v *big.Int) error {
	minV, maxV := big.NewInt(p.Min), big.NewInt(p.Max)
	n := new(big.Int).Add(v, big.NewInt(p.Increment))
	if p.Increment > 0 && (v.Cmp(maxV) > 0 || n.Cmp(maxV) > 0) {
		return &RangeError{Value: v.String(), Limit: "maxvalue", Bound: p.Max, DataType: p.DataType}
	}
	if p.Increment < 0 && (v.Cmp(minV) < 0 || n.Cmp(minV) < 0) {
		return &RangeError{Value: v.String(), Limit: "minvalue", Bound: p.Min, DataType: p.DataType}
	}
	return nil
}

// RangeError is a sync value outside the target sequence's range.
type RangeError struct {
	Sequence string
	Value    string
	Limit    string // "maxvalue" or "minvalue"
	Bound    int64
	DataType string
}

func (e *RangeError) Error() string {
	s := fmt.Sprintf("setting %s to %s would pass its %s %d (%s sequence)", e.Sequence, e.Value, e.Limit, e.Bound, e.DataType)
	if e.Sequence == "" {
		s = fmt.Sprintf("the sync value %s would pass the %s %d (%s sequence)", e.Value, e.Limit, e.Bound, e.DataType)
	}
	return s + "; lower --margin, or widen the sequence on the target (ALTER SEQUENCE ... AS bigint " + e.Limit + " ...)"
}

// ratBound parses a column extreme (integer or numeric text) and rounds it
// outward (up for a max, down for a min) so a fractional value still counts
// as taking the integer key above (below) it.
func ratBound(s string, up bool) (*big.Int, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("cannot read %q as a number", s)
	}
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	// QuoRem truncates toward zero; move outward when there is a remainder.
	if m.Sign() != 0 {
		if up && r.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
		if !up && r.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		}
	}
	return q, nil
}
