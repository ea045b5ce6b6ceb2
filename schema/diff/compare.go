package diff

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// Options choose what is compared.
type Options struct {
	// Privileges adds owners and grants (ACLs) to the comparison.
	Privileges bool
}

// Kind says how an object differs.
type Kind string

// Kinds of difference.
const (
	Missing Kind = "missing" // on the source, not on the target
	Extra   Kind = "extra"   // on the target, not on the source
	Changed Kind = "changed" // on both, with a different attribute
)

// Severity says whether a difference fails the comparison.
type Severity string

// Severities. Notices are reported but do not by themselves fail (exit 1).
const (
	SeverityError  Severity = "error"
	SeverityNotice Severity = "notice"
)

// Difference is one difference between the two catalogs.
type Difference struct {
	ObjectType string
	Object     string
	Kind       Kind
	// Attribute names what changed; empty for missing and extra.
	Attribute string
	Severity  Severity
	// Source and Target are the differing values (for missing and extra:
	// the object's summary attribute on the side that has it). nil means
	// NULL or absent.
	Source, Target *string
}

// TypeCount is how many objects of a type each side has.
type TypeCount struct {
	ObjectType string
	Source     int
	Target     int
}

// Result is the outcome of a comparison.
type Result struct {
	Source, Target Server
	Privileges     bool
	Differences    []Difference
	Compared       []TypeCount
	Notes          []string
	// NotCompared is what the comparison does not cover (NotCompared).
	NotCompared []string
}

// Errors counts the differences that fail the comparison.
func (r *Result) Errors() int {
	n := 0
	for _, d := range r.Differences {
		if d.Severity == SeverityError {
			n++
		}
	}
	return n
}

// Notices counts the differences reported as notices.
func (r *Result) Notices() int { return len(r.Differences) - r.Errors() }

// Run reads both catalogs, concurrently, and compares them.
func Run(ctx context.Context, source, target *pgx.Conn, opts Options) (*Result, error) {
	var src, dst *Catalog
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	g.Go(func() error {
		var err error
		if src, err = Read(gctx, source, "source"); err != nil {
			return fmt.Errorf("reading source catalog: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		var err error
		if dst, err = Read(gctx, target, "target"); err != nil {
			return fmt.Errorf("reading target catalog: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return Compare(src, dst, opts), nil
}

// Compare returns every difference between two catalogs, ordered by object
// type (containers first), object and attribute.
func Compare(src, dst *Catalog, opts Options) *Result {
	res := &Result{Source: src.Server, Target: dst.Server, Privileges: opts.Privileges,
		NotCompared: append([]string(nil), NotCompared...)}

	// Privileges one side's major does not have cannot differ meaningfully.
	minMajor := min(src.Server.Major(), dst.Server.Major())

	if !opts.Privileges {
		src, dst = withoutPrivilegeKinds(src), withoutPrivilegeKinds(dst)
	}

	// Objects only one side has; their children are not reported again.
	gone := map[string]bool{}
	for k := range src.Objects {
		if _, ok := dst.Objects[k]; !ok {
			gone[k] = true
		}
	}
	for k := range dst.Objects {
		if _, ok := src.Objects[k]; !ok {
			gone[k] = true
		}
	}

	counts := map[string]*TypeCount{}
	count := func(t string) *TypeCount {
		if counts[t] == nil {
			counts[t] = &TypeCount{ObjectType: t}
		}
		return counts[t]
	}
	for _, o := range src.Objects {
		count(o.Type).Source++
	}
	for _, o := range dst.Objects {
		count(o.Type).Target++
	}
	for _, t := range typeOrder {
		if c := counts[t]; c != nil {
			res.Compared = append(res.Compared, *c)
		}
	}

	for k, s := range src.Objects {
		d, ok := dst.Objects[k]
		switch {
		case !ok:
			if !underGone(s, src, gone) {
				res.Differences = append(res.Differences, presence(s, Missing))
			}
		default:
			diffs, notes := compareObject(s, d, opts, minMajor, src.Side, dst.Side)
			res.Differences = append(res.Differences, diffs...)
			res.Notes = append(res.Notes, notes...)
		}
	}
	for k, d := range dst.Objects {
		if _, ok := src.Objects[k]; !ok && !underGone(d, dst, gone) {
			res.Differences = append(res.Differences, presence(d, Extra))
		}
	}
	sortDifferences(res.Differences)
	sort.Strings(res.Notes)
	return res
}

// withoutPrivilegeKinds returns c without the objects only --privileges
// compares.
func withoutPrivilegeKinds(c *Catalog) *Catalog {
	out := *c
	out.Objects = make(map[string]*Object, len(c.Objects))
	for k, o := range c.Objects {
		if !kinds[o.Type].privilege {
			out.Objects[k] = o
		}
	}
	return &out
}

// underGone reports whether any ancestor of o is itself missing or extra.
func underGone(o *Object, c *Catalog, gone map[string]bool) bool {
	seen := map[string]bool{}
	var walk func(*Object) bool
	walk = func(o *Object) bool {
		for _, p := range o.Parents {
			if gone[p] {
				return true
			}
			if po, ok := c.Objects[p]; ok && !seen[p] {
				seen[p] = true
				if walk(po) {
					return true
				}
			}
		}
		return false
	}
	return walk(o)
}

func presence(o *Object, k Kind) Difference {
	d := Difference{ObjectType: o.Type, Object: o.Name, Kind: k, Severity: SeverityError}
	var sum *string
	if a := kinds[o.Type].summary; a != "" {
		sum = o.Attrs[a].display
	} else {
		sum = strPtr(o.Name)
	}
	if k == Missing {
		d.Source = sum
	} else {
		d.Target = sum
	}
	return d
}

func compareObject(s, d *Object, opts Options, minMajor int, srcSide, dstSide string) (out []Difference, notes []string) {
	changed := map[string]bool{}
	for _, a := range kinds[s.Type].attrs {
		if a.mode == modeHidden || (a.privilege && !opts.Privileges) {
			continue
		}
		sv, dv := s.Attrs[a.name], d.Attrs[a.name]
		var srcShown, dstShown *string
		switch a.mode {
		case modeACL:
			only1, only2 := aclDiff(sv.acl, dv.acl, minMajor)
			if len(only1) == 0 && len(only2) == 0 {
				continue
			}
			srcShown, dstShown = formatACL(only1), formatACL(only2)
		case modeColumnOrder:
			if sameRelativeOrder(sv.list, dv.list) {
				continue
			}
			srcShown, dstShown = sv.display, dv.display
		default:
			if sv.raw == dv.raw {
				continue
			}
			sc, serr := sv.canonical()
			dc, derr := dv.canonical()
			if serr != nil {
				notes = append(notes, parseNote(srcSide, s.Type, s.Name, a.name, serr))
			}
			if derr != nil {
				notes = append(notes, parseNote(dstSide, d.Type, d.Name, a.name, derr))
			}
			if sc == dc {
				continue
			}
			srcShown, dstShown = sv.display, dv.display
		}
		changed[a.name] = true
		if a.unlessChanged != "" && changed[a.unlessChanged] {
			continue
		}
		sev := SeverityError
		if a.notice {
			sev = SeverityNotice
		}
		name := a.name
		if a.mode == modeColumnOrder {
			name = "column order"
		}
		out = append(out, Difference{ObjectType: s.Type, Object: s.Name, Kind: Changed, Attribute: name,
			Severity: sev, Source: srcShown, Target: dstShown})
	}
	return out, notes
}

// sameRelativeOrder reports whether the names both lists hold appear in
// the same order in each. A column added or dropped is reported as a
// column, not as every later column moving.
func sameRelativeOrder(a, b []string) bool {
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, x := range a {
		inA[x] = true
	}
	for _, x := range b {
		inB[x] = true
	}
	var ca, cb []string
	for _, x := range a {
		if inB[x] {
			ca = append(ca, x)
		}
	}
	for _, x := range b {
		if inA[x] {
			cb = append(cb, x)
		}
	}
	return strings.Join(ca, "\x00") == strings.Join(cb, "\x00")
}

// aclDiff returns the grants only the source has and only the target has.
// MAINTAIN (PG 17+) is left out when either side is older: an owner's
// default ACL includes it on 17 and cannot on 13.
func aclDiff(a, b []aclItem, minMajor int) (onlyA, onlyB []aclItem) {
	keep := func(it aclItem) bool { return !(it.privilege == "MAINTAIN" && minMajor < 17) }
	inB := map[aclItem]bool{}
	for _, it := range b {
		inB[it] = true
	}
	inA := map[aclItem]bool{}
	for _, it := range a {
		inA[it] = true
		if keep(it) && !inB[it] {
			onlyA = append(onlyA, it)
		}
	}
	for _, it := range b {
		if keep(it) && !inA[it] {
			onlyB = append(onlyB, it)
		}
	}
	return onlyA, onlyB
}

// formatACL renders grants as "grantee: PRIV, PRIV* (granted by grantor)";
// * marks WITH GRANT OPTION, "(owner)" the object's owner. nil means no
// grant.
func formatACL(items []aclItem) *string {
	if len(items) == 0 {
		return nil
	}
	type gg struct{ grantee, grantor string }
	privs := map[gg][]string{}
	var order []gg
	for _, it := range items {
		k := gg{it.grantee, it.grantor}
		if _, ok := privs[k]; !ok {
			order = append(order, k)
		}
		p := it.privilege
		if it.grantable {
			p += "*"
		}
		privs[k] = append(privs[k], p)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].grantee != order[j].grantee {
			return order[i].grantee < order[j].grantee
		}
		return order[i].grantor < order[j].grantor
	})
	parts := make([]string, len(order))
	for i, k := range order {
		ps := privs[k]
		sort.Strings(ps)
		parts[i] = fmt.Sprintf("%s: %s (granted by %s)", k.grantee, strings.Join(ps, ", "), k.grantor)
	}
	return strPtr(strings.Join(parts, "; "))
}

func sortDifferences(ds []Difference) {
	rank := map[string]int{}
	for i, t := range typeOrder {
		rank[t] = i
	}
	attrRank := func(d Difference) int {
		for i, a := range kinds[d.ObjectType].attrs {
			if a.name == d.Attribute || (a.mode == modeColumnOrder && d.Attribute == "column order") {
				return i
			}
		}
		return -1
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if rank[a.ObjectType] != rank[b.ObjectType] {
			return rank[a.ObjectType] < rank[b.ObjectType]
		}
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		return attrRank(a) < attrRank(b)
	})
}
