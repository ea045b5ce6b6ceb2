package sampler

import (
	"math"
	"testing"
)

// Reference values: exact one-sided 95% Clopper-Pearson upper bounds,
// computed independently by bisection on the binomial CDF summed term by
// term (sum of C(n,i) p^i (1-p)^(n-i), i <= k), not through the beta function.
func TestUpperBound(t *testing.T) {
	for _, tc := range []struct {
		n, k int64
		want float64
	}{
		{10000, 0, 2.99528e-4}, // rule of three: ~3/n
		{100, 0, 0.0295130},
		{10, 1, 0.3941633},
		{20, 5, 0.4555824},
		{100, 10, 0.1637176},
		{1000, 1, 0.004734994},
		{10, 9, 0.9948838},
	} {
		got := UpperBound(tc.n, tc.k, 0.95)
		if math.Abs(got-tc.want)/tc.want > 1e-4 {
			t.Errorf("UpperBound(%d, %d) = %.7g, want %.7g", tc.n, tc.k, got, tc.want)
		}
	}
	if UpperBound(0, 0, 0.95) != 1 || UpperBound(5, 5, 0.95) != 1 {
		t.Error("degenerate cases must be 1")
	}
	// Monotone in k and in the confidence.
	if !(UpperBound(1000, 2, 0.95) > UpperBound(1000, 1, 0.95) && UpperBound(1000, 1, 0.99) > UpperBound(1000, 1, 0.95)) {
		t.Error("bound not monotone")
	}
	// Large n with many differences stays accurate.
	if got := UpperBound(5_000_000, 500, 0.95); math.Abs(got-1.076749e-4)/1.076749e-4 > 1e-4 {
		t.Errorf("UpperBound(5e6, 500) = %g, want 1.076749e-4", got)
	}
}
