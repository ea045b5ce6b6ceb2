package sampler

import "math"

// UpperBound is the exact one-sided Clopper-Pearson upper confidence bound
// on a proportion: with k "successes" in n independent draws, the true
// proportion is below the result with the given confidence (e.g. 0.95).
// For k = 0 it is 1 - (1-confidence)^(1/n), about 3/n at 95% (the rule of
// three). It returns 1 when n is 0 or k = n.
func UpperBound(n, k int64, confidence float64) float64 {
	alpha := 1 - confidence
	switch {
	case n <= 0 || k >= n:
		return 1
	case k <= 0:
		return -math.Expm1(math.Log(alpha) / float64(n))
	}
	// The bound p solves P(X <= k | n, p) = alpha; P(X <= k) falls as p
	// grows, and equals the regularized incomplete beta I_{1-p}(n-k, k+1).
	cdf := func(p float64) float64 { return regIncBeta(float64(n-k), float64(k+1), 1-p) }
	lo, hi := float64(k)/float64(n), 1.0
	for i := 0; i < 200 && hi-lo > 1e-15; i++ {
		mid := (lo + hi) / 2
		if cdf(mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi // the conservative end
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by the
// continued fraction (modified Lentz), using the symmetry relation where
// the fraction converges slowly.
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 100000; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return h
}
