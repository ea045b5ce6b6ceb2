package lint

import (
	"sort"
	"strings"
)

// OrderMigrations sorts the file names of a migration directory into the
// order migration tools apply them: by their numeric version prefix, in
// natural order (runs of digits compare as numbers, so 11_y.up.sql comes
// before 100_x.up.sql), and drops *.down.sql files unless includeDown.
// It returns the names kept, in order, and those skipped.
func OrderMigrations(names []string, includeDown bool) (ordered, skipped []string) {
	for _, n := range names {
		if !includeDown && strings.HasSuffix(strings.ToLower(n), ".down.sql") {
			skipped = append(skipped, n)
			continue
		}
		ordered = append(ordered, n)
	}
	sort.SliceStable(ordered, func(i, j int) bool { return naturalLess(ordered[i], ordered[j]) })
	sort.Strings(skipped)
	return ordered, skipped
}

// naturalLess compares strings with digit runs as numbers; equal ones
// (001 and 1) fall back to plain comparison.
func naturalLess(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			continue
		}
		if ca != cb {
			return ca < cb
		}
		i++
		j++
	}
	if len(a)-i != len(b)-j {
		return len(a)-i < len(b)-j
	}
	return a < b
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
