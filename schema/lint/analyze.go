package lint

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// node is a graph vertex: a function, or a view/materialized view whose
// query calls functions.
type node interface{ label() string }

func (f *funcObj) label() string { return f.ident }
func (r *relObj) label() string  { return relKindWord(r.kind) + " " + r.qname.String() }

func relKindWord(k byte) string {
	switch k {
	case 'v':
		return "view"
	case 'm':
		return "materialized view"
	case 'S':
		return "sequence"
	case 'f':
		return "foreign table"
	case 'c':
		return "composite type"
	}
	return "table"
}

// edge leads from a node to a node it runs, or to a table it reads.
type edge struct {
	to    node
	table *relObj // set instead of to for a table read
}

type analyzer struct {
	c         *catalog
	cur       *funcObj // the function funcFindings is looking at
	edges     map[node][]edge
	queryRefs map[*relObj][]ref
	rootRefs  map[*root][]ref
	reach     map[*funcObj]*reached
	pinned    map[*funcObj][]*pinnedReach
}

// reached records the first root (in input order) that reaches a function
// and the path it takes.
type reached struct {
	root  *root
	chain []string
	count int // how many roots reach it
}

func newAnalyzer(c *catalog) *analyzer {
	return &analyzer{c: c, edges: map[node][]edge{}, queryRefs: map[*relObj][]ref{}, rootRefs: map[*root][]ref{}, reach: map[*funcObj]*reached{}, pinned: map[*funcObj][]*pinnedReach{}}
}

// targets resolves a reference to graph nodes. unq decides the schema of
// an unqualified name ("" = builtin or unknown: no edge).
func (a *analyzer) targets(r ref, unq func(ref) string) []edge {
	schema := r.schema
	if schema == "" {
		schema = unq(r)
	}
	if schema == "" || schema == "pg_catalog" && r.kind != refOp {
		return nil
	}
	c := a.c
	var out []edge
	switch r.kind {
	case refFunc:
		for _, f := range c.funcsIn(schema, r.name, r.nargs) {
			out = append(out, edge{to: f})
		}
	case refRel, refRowtype:
		if rel := c.rels[qname{schema, r.name}]; rel != nil {
			switch rel.kind {
			case 'v', 'm':
				out = append(out, edge{to: rel})
			case 'r', 'p', 'f':
				if !r.literal && r.kind == refRel {
					out = append(out, edge{table: rel})
				}
			}
		}
	case refOp:
		for _, o := range c.ops[r.name] {
			if o.schema != schema || o.nargs != r.nargs && r.nargs > 0 {
				continue
			}
			if o.fnObj != nil {
				out = append(out, edge{to: o.fnObj})
				continue
			}
			for _, f := range c.funcsIn(o.fn.schema, o.fn.name, o.nargs) {
				out = append(out, edge{to: f})
			}
		}
	}
	return out
}

// boundResolver resolves names fixed when an object was created with path.
func (a *analyzer) boundResolver(path []string) func(ref) string {
	return func(r ref) string {
		if s, ok := a.c.resolvePath(r, path); ok {
			return s
		}
		if ss := a.c.schemasOf(r); len(ss) > 0 {
			return ss[0]
		}
		return ""
	}
}

func (a *analyzer) edgesOf(n node) []edge {
	if e, ok := a.edges[n]; ok {
		return e
	}
	var out []edge
	switch x := n.(type) {
	case *funcObj:
		a.c.analyzeBody(x)
		run := func(r ref) string {
			if path, ok := x.effectivePath(); ok {
				s, _ := a.c.resolvePath(r, path)
				return s
			}
			if a.c.builtin(r) {
				return "pg_catalog"
			}
			return a.c.intended(x, r)
		}
		for _, r := range x.refs {
			out = append(out, a.targets(r, run)...)
		}
		bound := a.boundResolver(x.createPath)
		for _, r := range x.bound {
			out = append(out, a.targets(r, bound)...)
		}
	case *relObj:
		refs, ok := a.queryRefs[x]
		if !ok && x.query != nil {
			col := newCollector(nil)
			col.collect(x.query)
			refs = col.result()
			a.queryRefs[x] = refs
		}
		bound := a.boundResolver(x.path)
		for _, r := range refs {
			out = append(out, a.targets(r, bound)...)
		}
		for _, d := range x.deps {
			out = append(out, depEdge(d))
		}
	}
	a.edges[n] = out
	return out
}

func depEdge(d *dep) edge {
	if d.fn != nil {
		return edge{to: d.fn}
	}
	switch d.rel.kind {
	case 'v', 'm':
		return edge{to: d.rel}
	}
	return edge{table: d.rel}
}

func (a *analyzer) rootEdges(r *root) []edge {
	refs, ok := a.rootRefs[r]
	if !ok {
		col := newCollector(nil)
		for _, e := range r.exprs {
			col.collect(e)
		}
		refs = col.result()
		a.rootRefs[r] = refs
	}
	var out []edge
	bound := a.boundResolver(r.path)
	for _, x := range refs {
		out = append(out, a.targets(x, bound)...)
	}
	for _, d := range r.deps {
		out = append(out, depEdge(d))
	}
	return out
}

// tableRead is a table a root's code reads, and the path to it.
type tableRead struct {
	table *relObj
	chain []string
}

// pinnedReach is a root reaching a function only through a caller that
// pins search_path: the function then runs with that path for the whole
// call, nested calls included.
type pinnedReach struct {
	root  *root
	chain []string
	path  []string
	via   *funcObj // the nearest caller whose path it runs with
}

// walkRoot runs a breadth-first search from a root, recording the first
// chain that reaches each function and the tables the code reads. A
// function that pins search_path passes its path on to what it calls: those
// are recorded in a.pinned, not a.reach.
func (a *analyzer) walkRoot(r *root) []tableRead {
	type item struct {
		n     node
		chain []string
		path  []string // inherited search_path; nil: the root's empty one
		via   *funcObj
	}
	var reads []tableRead
	seen := map[string]bool{}
	seenTable := map[*relObj]bool{}
	var queue []item
	visit := func(es []edge, chain, path []string, via *funcObj) {
		for _, e := range es {
			if e.table != nil {
				if !seenTable[e.table] && e.table.qname != r.table {
					seenTable[e.table] = true
					reads = append(reads, tableRead{e.table, append(append([]string(nil), chain...), "table "+e.table.qname.String())})
				}
				continue
			}
			key := fmt.Sprintf("%p\x00%q", e.to, path)
			if seen[key] {
				continue
			}
			seen[key] = true
			c := append(append([]string(nil), chain...), e.to.label())
			queue = append(queue, item{e.to, c, path, via})
		}
	}
	visit(a.rootEdges(r), []string{r.desc}, nil, nil)
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		path, via := it.path, it.via
		if f, ok := it.n.(*funcObj); ok {
			switch {
			case it.via != nil:
				a.pinned[f] = append(a.pinned[f], &pinnedReach{root: r, chain: it.chain, path: it.path, via: it.via})
			case a.reach[f] == nil:
				a.reach[f] = &reached{root: r, chain: it.chain, count: 1}
			default:
				a.reach[f].count++
			}
			if p, ok := f.effectivePath(); ok {
				path, via = p, f
				if path == nil {
					path = []string{}
				}
			}
		}
		visit(a.edgesOf(it.n), it.chain, path, via)
	}
	return reads
}

// analyze runs every rule over the catalog.
func (c *catalog) analyze(ctx context.Context) ([]Finding, *analyzer, error) {
	// Transition tables of triggers are names in their functions' bodies.
	for _, t := range c.triggers {
		if len(t.transitions) == 0 {
			continue
		}
		fn := t.fn
		if fn.schema == "" {
			fn.schema = newAnalyzer(c).boundResolver(t.path)(ref{kind: refFunc, qname: fn, nargs: 0})
		}
		for _, f := range c.funcsIn(fn.schema, fn.name, 0) {
			for _, n := range t.transitions {
				f.addTransition(n)
			}
		}
	}
	if err := c.analyzeAll(ctx); err != nil {
		return nil, nil, err
	}
	a := newAnalyzer(c)
	// Triggers that fire in the apply worker are roots.
	for _, t := range c.triggers {
		if t.enabled != 'A' && t.enabled != 'R' {
			continue
		}
		word := "ALWAYS"
		if t.enabled == 'R' {
			word = "REPLICA"
		}
		fn := t.fn
		r := &root{kind: rootTrigger, desc: fmt.Sprintf("ENABLE %s trigger %s on %s", word, quoteIdent(t.name), t.table),
			table: t.table, path: t.path, loc: t.loc, off: t.off, order: t.order, ignore: t.ignore}
		if t.when != nil {
			r.exprs = append(r.exprs, t.when)
		}
		if fn.schema == "" {
			fn.schema = a.boundResolver(t.path)(ref{kind: refFunc, qname: fn, nargs: 0})
		}
		for _, f := range c.funcsIn(fn.schema, fn.name, 0) {
			r.deps = append(r.deps, &dep{fn: f})
		}
		c.roots = append(c.roots, r)
	}
	sort.SliceStable(c.roots, func(i, j int) bool { return c.roots[i].order < c.roots[j].order })

	var out []Finding
	for _, r := range c.roots {
		reads := a.walkRoot(r)
		if !r.kind.crossTableMatters() {
			continue
		}
		for _, rd := range reads {
			fn := ""
			if len(rd.chain) > 1 {
				fn = rd.chain[1]
			}
			fd := Finding{
				Code: CodeCrossTable,
				Message: fmt.Sprintf("%s calls %s, which reads table %s: pg_dump restores and logical replication's table sync load tables in no order that respects this, so the check can fail on consistent data",
					r.desc, fn, rd.table.qname),
				Object: r.desc, Chain: rd.chain,
			}
			fd.setKey(r.desc, rd.table.qname.String())
			out = append(out, c.place(fd, r.loc, r.off, r.ignore))
		}
	}

	for _, fs := range sortedFuncs(c) {
		if fs.extension != "" || fs.kind == 'a' {
			continue
		}
		out = append(out, a.funcFindings(fs)...)
	}
	return out, a, nil
}

func sortedFuncs(c *catalog) []*funcObj {
	var all []*funcObj
	for _, l := range c.funcs {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].order < all[j].order })
	return all
}

// place fills a finding's position and suppression marker.
func (c *catalog) place(fd Finding, loc locator, off int, ignore map[string]bool) Finding {
	if loc != nil {
		fd.File, fd.Line, fd.Col = loc.at(off)
	}
	if ignore[fd.Code] {
		fd.suppressed = true // finish counts and drops it
	}
	return fd
}

// refGroup is one unqualified name a function uses, at its first use.
type refGroup struct {
	r         ref
	count     int
	swallowed bool // some use is inside an EXCEPTION handler's block
}

// swallowedText explains what the user sees when the error of an
// unresolved name is caught by an EXCEPTION handler; r is the root that
// reaches the function (nil if none).
func swallowedText(r *root) string {
	seen := "the function silently takes its exception path (a CHECK constraint then fails with \"violates check constraint\" on valid data, or a caller gets the fallback value)"
	if r != nil && (r.kind == rootCheck || r.kind == rootDomainCheck) {
		seen = "the function silently takes its exception path, so " + r.desc + " fails with \"violates check constraint\" on valid data"
	}
	return "; the use is inside a block whose EXCEPTION handler (WHEN others, or a condition for a missing object) catches the error, so at run time " +
		seen + ": expect that error, which does not look like a search_path problem"
}

func (a *analyzer) funcFindings(f *funcObj) []Finding {
	c := a.c
	a.cur = f
	defer func() { a.cur = nil }()
	c.analyzeBody(f)
	first := skipSpaceAndComments(f.def, 0)
	obj := "function " + f.ident
	if f.procedure {
		obj = "procedure " + f.ident
	}
	rc := a.reach[f]
	var out []Finding
	add := func(fd Finding, off int, keyParts ...string) {
		fd.Object = obj
		fd.fn = f
		fd.setKey(append([]string{f.ident}, keyParts...)...)
		out = append(out, c.place(fd, f.loc, off, f.ignore))
	}

	// Group unqualified names by what they name, keeping the first use.
	// Whether a use resolves in pg_catalog can depend on its arity, so
	// that is part of the key.
	var groups []*refGroup
	byName := map[string]*refGroup{}
	for _, r := range f.refs {
		if r.schema != "" {
			continue
		}
		k := fmt.Sprintf("%d\x00%s\x00%v", r.kind, r.name, c.builtin(r))
		if g := byName[k]; g != nil {
			g.count++
			g.swallowed = g.swallowed || r.swallowed
			continue
		}
		g := &refGroup{r: r, count: 1, swallowed: r.swallowed}
		byName[k] = g
		groups = append(groups, g)
	}

	if path, ok := f.effectivePath(); ok {
		how := "pins search_path to"
		if !f.pinned {
			how = "sets search_path in its body to"
		}
		for _, g := range groups {
			r := g.r
			if _, ok := c.resolvePath(r, path); ok {
				continue
			}
			elsewhere := c.schemasOf(r)
			if len(elsewhere) == 0 && hasUserSchema(path) {
				continue // may come from a schema the input does not describe
			}
			where := a.unknownWhere()
			if len(elsewhere) > 0 {
				where = "it is in schema " + strings.Join(elsewhere, ", ")
			}
			swallowed := ""
			if g.swallowed {
				var r *root
				if rc != nil {
					r = rc.root
				}
				swallowed = swallowedText(r)
			}
			fd := Finding{Code: CodePinnedMiss,
				Message: fmt.Sprintf("%s %s %s, but %s without a schema and that name is not in pg_catalog or those schemas (%s)%s",
					f.ident, how, pathText(path), a.refPhrase(r), where, swallowed),
				Reference: r.name, ReferenceKind: a.refKindWord(r), ResolvesTo: a.resolvesTo(f, r)}
			add(fd, r.off, "ref", r.kind.String(), r.name)
		}
	} else {
		unresolved := 0
		for _, g := range groups {
			r := g.r
			if c.builtin(r) {
				continue
			}
			unresolved++
			fd := Finding{Reference: r.name, ReferenceKind: a.refKindWord(r), ResolvesTo: a.resolvesTo(f, r)}
			where := " (it is " + fd.ResolvesTo + ")"
			if fd.ResolvesTo == "" {
				where = " (" + a.unknownWhere() + ")"
			}
			more := ""
			if g.count > 1 {
				more = fmt.Sprintf("; %d uses in this function", g.count)
			}

			// Reached only through callers that pin search_path: it runs
			// with their path, which may or may not resolve the name.
			var miss, hit *pinnedReach
			if rc == nil {
				for _, pr := range a.pinned[f] {
					if _, ok := c.resolvePath(r, pr.path); !ok {
						if miss == nil {
							miss = pr
						}
					} else if hit == nil {
						hit = pr
					}
				}
			}
			switch {
			case rc != nil:
				fd.Code = CodeReachable
				fd.Chain = append(append([]string(nil), rc.chain...), a.refTarget(f, r))
				roots := ""
				if rc.count > 1 {
					roots = fmt.Sprintf(" (and %d more)", rc.count-1)
				}
				if g.swallowed {
					more += swallowedText(rc.root)
				}
				fd.Message = fmt.Sprintf("%s %s without a schema and does not pin search_path; %s%s reaches it and runs in %s, where only pg_catalog is searched and the name does not resolve%s%s",
					f.ident, a.refPhrase(r), rc.root.desc, roots, rc.root.kind.runsIn(), where, more)
			case miss != nil:
				fd.Code = CodeReachable
				fd.Chain = append(append([]string(nil), miss.chain...), a.refTarget(f, r))
				if g.swallowed {
					more += swallowedText(miss.root)
				}
				fd.Message = fmt.Sprintf("%s %s without a schema and does not pin search_path; %s reaches it through %s, which pins search_path to %s, and runs in %s, where the name does not resolve with that path%s%s",
					f.ident, a.refPhrase(r), miss.root.desc, miss.via.ident, pathText(miss.path), miss.root.kind.runsIn(), where, more)
			case hit != nil:
				fd.Code = CodeUnqualified
				fd.Message = fmt.Sprintf("%s %s without a schema and does not pin search_path; %s reaches it only through %s, whose pinned search_path (%s) resolves the name, but it fails for any other caller whose search_path is empty%s%s",
					f.ident, a.refPhrase(r), hit.root.desc, hit.via.ident, pathText(hit.path), where, more)
			default:
				fd.Code = CodeUnqualified
				if g.swallowed {
					more += swallowedText(nil)
				}
				fd.Message = fmt.Sprintf("%s %s without a schema and does not pin search_path; it fails for any caller whose search_path is empty, as in pg_dump scripts and replication workers%s%s",
					f.ident, a.refPhrase(r), where, more)
			}
			add(fd, r.off, "ref", r.kind.String(), r.name)
		}
		if unresolved == 0 {
			var outside []string
			seen := map[string]bool{}
			for _, r := range f.refs {
				if r.schema == "" || r.schema == "pg_catalog" || r.schema == "pg_temp" {
					continue
				}
				s := r.qname.String()
				if !seen[s] {
					seen[s] = true
					outside = append(outside, s)
				}
			}
			if len(outside) > 0 {
				list := strings.Join(outside, ", ")
				if len(outside) > 3 {
					list = strings.Join(outside[:3], ", ") + fmt.Sprintf(" and %d more", len(outside)-3)
				}
				add(Finding{Code: CodeMutablePath,
					Message: fmt.Sprintf("%s does not pin search_path and references objects outside pg_catalog (%s): its other names resolve with the caller's search_path",
						f.ident, list)}, first)
			}
		}
		if rc != nil && len(f.dynamic) > 0 {
			add(Finding{Code: CodeDynamic, Chain: rc.chain,
				Message: fmt.Sprintf("%s runs dynamic SQL (EXECUTE of a computed string) and does not pin search_path: the names in it resolve with the empty search_path of %s and cannot be checked",
					f.ident, rc.root.kind.runsIn())}, f.dynamic[0])
		}
		if rc != nil && f.problem != "" {
			add(Finding{Code: CodeNotAnalyzed, Chain: rc.chain,
				Message: fmt.Sprintf("%s could not be checked: %s; it does not pin search_path and %s reaches it", f.ident, f.problem, rc.root.desc)}, first)
		}
	}
	if f.parseFailed && (rc == nil || f.pinned || f.bodyPath != nil) {
		// Never silent: a body the parser rejects loses its findings.
		add(Finding{Code: CodeNotAnalyzed,
			Message: fmt.Sprintf("%s could not be fully checked: %s", f.ident, f.problem)}, first)
	}
	if f.secdef && !f.pinned {
		add(Finding{Code: CodeSecDef,
			Message: fmt.Sprintf("%s is SECURITY DEFINER and does not pin search_path: the caller's search_path decides what its unqualified names mean, with the owner's rights", f.ident)}, first)
	}
	return out
}

// unknownWhere explains a name that resolves nowhere.
func (a *analyzer) unknownWhere() string {
	if a.c.live {
		return "no object of that name in the database"
	}
	return fmt.Sprintf("not in PostgreSQL %d's pg_catalog, nor defined in the input", a.c.bi.major)
}

func hasUserSchema(path []string) bool {
	for _, s := range path {
		switch s {
		case "pg_catalog", "pg_temp", "":
		default:
			return true
		}
	}
	return false
}

func pathText(path []string) string {
	if len(path) == 0 {
		return "''"
	}
	q := make([]string, len(path))
	for i, s := range path {
		if s == "$user" {
			q[i] = `"$user"`
		} else {
			q[i] = quoteIdent(s)
		}
	}
	return strings.Join(q, ", ")
}

func (a *analyzer) refKindWord(r ref) string {
	switch r.kind {
	case refRel:
		if r.seq {
			return "sequence"
		}
		if rel := a.relFor(r); rel != nil {
			return relKindWord(rel.kind)
		}
		return "relation"
	case refRowtype:
		return "row type"
	}
	return r.kind.String()
}

// relFor is the relation a name most likely means: where the body's
// function would find it on the source (a.cur), else the first defined.
func (a *analyzer) relFor(r ref) *relObj {
	if a.cur != nil {
		if s := a.c.intended(a.cur, r); s != "" {
			if rel := a.c.rels[qname{s, r.name}]; rel != nil {
				return rel
			}
		}
	}
	if l := a.c.relsByName[r.name]; len(l) > 0 {
		return l[0]
	}
	return nil
}

// refPhrase says what the body does with a name.
func (a *analyzer) refPhrase(r ref) string {
	switch r.kind {
	case refFunc:
		return "calls " + quoteIdent(r.name) + "()"
	case refRel:
		if r.literal {
			return "names " + a.refKindWord(r) + " '" + r.name + "' in a string"
		}
		return "uses " + a.refKindWord(r) + " " + quoteIdent(r.name)
	case refType:
		return "uses type " + quoteIdent(r.name)
	case refRowtype:
		return "declares " + quoteIdent(r.name) + "%ROWTYPE"
	case refOp:
		return "uses operator " + r.name
	}
	return "uses " + r.name
}

// resolvesTo names the object an unqualified name means on the source.
func (a *analyzer) resolvesTo(f *funcObj, r ref) string {
	s := a.c.intended(f, r)
	if s == "" {
		return ""
	}
	switch r.kind {
	case refFunc:
		if fs := a.c.funcsIn(s, r.name, r.nargs); len(fs) > 0 {
			return fs[0].ident
		}
	case refOp:
		return "operator " + s + "." + r.name
	}
	return qname{s, r.name}.String()
}

// refTarget is the last hop of a chain: the name as written, with the
// argument types of the function it means ("g(jsonb)").
func (a *analyzer) refTarget(f *funcObj, r ref) string {
	if r.kind == refFunc {
		if s := a.c.intended(f, r); s != "" {
			if fs := a.c.funcsIn(s, r.name, r.nargs); len(fs) > 0 {
				if i := strings.Index(fs[0].ident, "("); i >= 0 {
					return quoteIdent(r.name) + fs[0].ident[i:]
				}
			}
		}
		return quoteIdent(r.name) + "()"
	}
	return a.refKindWord(r) + " " + r.name
}

// fixPath is the search_path the fix pins. It reproduces how the body
// resolves on the source: the schemas its unqualified names live in, in the
// order the source's path searches them (the path the script created the
// function under, the function's own schema, public), then pg_temp last so
// temporary objects cannot shadow anything. pg_catalog is not listed:
// PostgreSQL searches it first anyway, and listing it first would make it
// the schema an unqualified CREATE creates in. When the body creates
// objects without a schema (or runs dynamic SQL, or could not be analyzed),
// the first schema is the one those objects are created in on the source.
func (a *analyzer) fixPath(f *funcObj) (path []string, notes []string) {
	c := a.c
	a.cur = f
	defer func() { a.cur = nil }()
	var need []string
	seen := map[string]bool{}
	addSchema := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			need = append(need, s)
		}
	}
	bodyPath, hasPath := f.effectivePath()
	creates := len(f.dynamic) > 0 || f.problem != ""
	// Relations the body creates without a schema: its other uses of
	// those names resolve where it creates them.
	created := map[string]bool{}
	for _, r := range f.refs {
		if r.creates && r.schema == "" {
			created[r.name] = true
		}
	}
	noted := map[string]bool{}
	for _, r := range f.refs {
		if r.schema != "" {
			continue
		}
		if r.creates || r.kind == refRel && created[r.name] {
			creates = true
			continue
		}
		if hasPath {
			if _, ok := c.resolvePath(r, bodyPath); ok {
				continue
			}
		} else if c.builtin(r) {
			continue
		}
		if s := c.intended(f, r); s != "" {
			addSchema(s)
			continue
		}
		// Not defined in the input: most likely an extension's object.
		cands := append(append([]string(nil), c.extSchemas...), f.schema)
		for _, s := range cands {
			addSchema(s)
		}
		if n := fmt.Sprintf("%s %s is not defined in the input; assumed to be in %s", a.refKindWord(r), r.name, strings.Join(cands, ", ")); !noted[n] {
			noted[n] = true
			notes = append(notes, n)
		}
	}
	if f.pinned {
		path = append(path, f.path...)
		for _, s := range need {
			if inList(s, path) {
				continue
			}
			// keep pg_temp last
			if i := indexOf("pg_temp", path); i >= 0 {
				path = append(path[:i], append([]string{s}, path[i:]...)...)
			} else {
				path = append(path, s)
			}
		}
		return path, notes
	}
	order := f.sourceOrder()
	// Without the path a script created the function under (a pg_dump
	// script sets it empty; --db cannot know it) the callers' path is
	// unknown and the function's own schema is a guess.
	guess := ""
	if len(order) == 1 && order[0] == f.schema && !inList(f.schema, f.createPath) {
		guess = fmt.Sprintf(" (the callers' search_path is unknown here, so this assumes they used the function's own schema %s; check it)", f.schema)
	}
	if f.problem != "" || len(f.dynamic) > 0 {
		// Some of the body's names are unknown: keep every schema the
		// source resolved it with.
		why := "the body could not be fully analyzed"
		if f.problem == "" {
			why = "the body runs dynamic SQL"
		}
		for _, s := range order {
			addSchema(s)
		}
		if len(order) > 0 {
			notes = append(notes, fmt.Sprintf("%s; the path keeps the schemas it resolved in on the source, in order (%s): objects it creates without a schema still go to %s%s",
				why, strings.Join(order, ", "), order[0], guess))
		}
	} else if creates && len(order) > 0 {
		addSchema(order[0])
		notes = append(notes, fmt.Sprintf("objects the body creates without a schema are created in %s, as on the source%s", order[0], guess))
	}
	if len(need) == 0 {
		addSchema(f.schema)
	}
	// The order the source searched them in; others keep their first use.
	rank := func(s string) int {
		if i := indexOf(s, order); i >= 0 {
			return i
		}
		return len(order)
	}
	sort.SliceStable(need, func(i, j int) bool { return rank(need[i]) < rank(need[j]) })
	return append(need, "pg_temp"), notes
}

// sourceOrder is the order the source most likely searched schemas in when
// the function ran: the path the script created it under, then its own
// schema (the order intended() guesses with, without "$user" and public,
// which it tries last).
func (f *funcObj) sourceOrder() []string {
	var out []string
	for _, s := range append(append([]string(nil), f.createPath...), f.schema) {
		switch s {
		case "", "$user", "pg_temp", "pg_catalog":
			continue
		}
		if !inList(s, out) {
			out = append(out, s)
		}
	}
	return out
}

// createsUnqualified says whether the body creates a relation without a schema.
func (f *funcObj) createsUnqualified() bool {
	for _, r := range f.refs {
		if r.creates && r.schema == "" {
			return true
		}
	}
	return false
}

func inList(s string, l []string) bool { return indexOf(s, l) >= 0 }

func indexOf(s string, l []string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

// fixSQL renders ALTER FUNCTION ... SET search_path with the real deparser,
// so quoting is right whatever the names.
func fixSQL(f *funcObj, path []string) (string, error) {
	if f.objArgs == nil {
		return "", fmt.Errorf("no identity for %s", f.ident)
	}
	var args []*pg.Node
	for _, s := range path {
		args = append(args, pg.MakeAConstStrNode(s, -1))
	}
	objType := pg.ObjectType_OBJECT_FUNCTION
	if f.procedure {
		objType = pg.ObjectType_OBJECT_PROCEDURE
	}
	set := &pg.VariableSetStmt{Kind: pg.VariableSetKind_VAR_SET_VALUE, Name: "search_path", Args: args}
	stmt := &pg.AlterFunctionStmt{
		Objtype: objType,
		Func:    f.objArgs,
		Actions: []*pg.Node{pg.MakeSimpleDefElemNode("set", &pg.Node{Node: &pg.Node_VariableSetStmt{VariableSetStmt: set}}, -1)},
	}
	tree := &pg.ParseResult{Version: parserVersion(), Stmts: []*pg.RawStmt{{Stmt: &pg.Node{Node: &pg.Node_AlterFunctionStmt{AlterFunctionStmt: stmt}}}}}
	s, err := pg.Deparse(tree)
	if err != nil {
		return "", fmt.Errorf("deparse fix for %s: %w", f.ident, err)
	}
	// Round-trip: what we print must parse.
	if _, err := pg.Parse(s); err != nil {
		return "", fmt.Errorf("fix for %s does not parse: %w", f.ident, err)
	}
	return s + ";", nil
}

var (
	versionOnce sync.Once
	version     int32
)

// parserVersion is the parse tree version Deparse insists on.
func parserVersion() int32 {
	versionOnce.Do(func() {
		if t, err := pg.Parse("SELECT 1"); err == nil {
			version = t.Version
		}
	})
	return version
}
