package lint

import (
	pg "github.com/pganalyze/pg_query_go/v6"
)

// locator maps an offset in an object's text to a position for a finding.
type locator interface {
	at(off int) (file string, line, col int)
}

// fileLocator: the text starts at base in a script file.
type fileLocator struct {
	f    *srcFile
	base int
}

func (l fileLocator) at(off int) (string, int, int) {
	if off < 0 { // unknown: the statement's first token
		off = skipSpaceAndComments(l.f.text, l.base) - l.base
	}
	line, col := l.f.pos(l.base + off)
	return l.f.name, line, col
}

// bodyLocator: --db mode, the text is pg_get_functiondef() output and
// positions count from the first line of the body, as PL/pgSQL's own error
// context ("line 3 at RETURN") does. Offsets before the body are line 0.
type bodyLocator struct {
	body    string
	bodyOff int
	lines   []int
}

func newBodyLocator(body string, bodyOff int) bodyLocator {
	return bodyLocator{body: body, bodyOff: bodyOff, lines: lineStarts(body)}
}

func (l bodyLocator) at(off int) (string, int, int) {
	if l.bodyOff < 0 || off < l.bodyOff {
		return "", 0, 0
	}
	line, col := posIn(l.body, l.lines, off-l.bodyOff)
	return "", line, col
}

// funcObj is a function or procedure with everything the rules need.
type funcObj struct {
	qname
	ident     string             // display: public.f(jsonb)
	objArgs   *pg.ObjectWithArgs // identity for ALTER FUNCTION in --fix
	procedure bool
	kind      byte // f, p, a, w
	lang      string
	minArgs   int
	maxArgs   int // -1 variadic

	def     string  // CREATE statement text (a file slice, or pg_get_functiondef)
	body    string  // the AS string; "" when there is none
	bodyTok int     // offset of the body's string token in def; -1 unknown
	bodyLit literal // content → token offsets
	atomic  *pg.Node
	// atomicBase is subtracted from parse locations in atomic to get offsets in def.
	atomicBase int

	pinned     bool
	path       []string // pinned search_path
	secdef     bool
	extension  string // --db: owning extension (not reported)
	createPath []string
	loc        locator
	ignore     map[string]bool
	order      int

	// analysis
	analyzed bool
	refs     []ref    // runtime-resolved names in the body
	bodyPath []string // search_path the body sets for itself, if any
	bound    []ref    // BEGIN ATOMIC names, bound at creation
	dynamic  []int    // offsets of EXECUTE of computed strings
	problem  string   // why the body could not be (fully) analyzed
	// transitions are the transition table names (REFERENCING NEW/OLD
	// TABLE AS x) of triggers that run the function: not schema objects.
	transitions map[string]bool
	// parseFailed: pg_query rejected a body PostgreSQL accepted (PGV108
	// whether or not a root reaches it).
	parseFailed bool
}

// effectivePath is the search_path the body's names resolve with when it
// runs in a session whose search_path is empty: the function's own SET, or
// one the body sets itself. ok is false when it inherits the caller's.
func (f *funcObj) effectivePath() (path []string, ok bool) {
	if f.pinned {
		return f.path, true
	}
	if f.bodyPath != nil {
		return f.bodyPath, true
	}
	return nil, false
}

// bodyToDef maps an offset in body to an offset in def (-1 if unknown).
func (f *funcObj) bodyToDef(i int) int {
	if f.bodyTok < 0 || i < 0 {
		return -1
	}
	return f.bodyTok + f.bodyLit.at(i)
}

func (f *funcObj) addTransition(name string) {
	if f.transitions == nil {
		f.transitions = map[string]bool{}
	}
	f.transitions[name] = true
}

// dropTransitions removes the body's uses of transition tables.
func (f *funcObj) dropTransitions() {
	if len(f.transitions) == 0 {
		return
	}
	out := f.refs[:0]
	for _, r := range f.refs {
		if r.kind == refRel && r.schema == "" && f.transitions[r.name] {
			continue
		}
		out = append(out, r)
	}
	f.refs = out
}

func (f *funcObj) acceptsArgs(n int) bool {
	return n < 0 || n >= f.minArgs && (f.maxArgs < 0 || n <= f.maxArgs)
}

// relObj is a table, view, materialized view, sequence or foreign table.
type relObj struct {
	qname
	kind  byte // r, p, v, m, S, f, c
	query *pg.Node
	path  []string // search_path the query was bound with
	// deps are --db mode's dependencies of a view or materialized view
	deps []*dep
}

// dep is a dependency read from pg_depend in --db mode.
type dep struct {
	fn  *funcObj
	rel *relObj
}

type typeObj struct {
	qname
	kind byte // e enum, d domain, c composite, r range, b base
}

// opObj is an operator and the function that implements it.
type opObj struct {
	qname
	fn     qname
	fnObj  *funcObj
	nargs  int
	fnArgs []string
}

// rootKind is something that runs function code inside the apply worker,
// a restore or PG 17 maintenance.
type rootKind int

const (
	rootCheck rootKind = iota
	rootDomainCheck
	rootDefault
	rootGenerated
	rootIndex
	rootTrigger
	rootMatview
	rootStats
)

// runsIn says who evaluates a root with a restricted search_path.
func (k rootKind) runsIn() string {
	switch k {
	case rootCheck, rootDomainCheck, rootGenerated:
		return "the logical replication apply and table-sync workers and restores"
	case rootDefault:
		return "the logical replication apply and table-sync workers"
	case rootIndex:
		return "the logical replication apply and table-sync workers, restores and PG 17 maintenance"
	case rootTrigger:
		return "the logical replication apply worker"
	case rootMatview:
		return "restores (REFRESH MATERIALIZED VIEW) and PG 17 maintenance"
	case rootStats:
		return "ANALYZE on PG 17"
	}
	return ""
}

// crossTableMatters: roots that pg_dump and table sync evaluate while other
// tables may still be empty.
func (k rootKind) crossTableMatters() bool {
	return k == rootCheck || k == rootDomainCheck || k == rootIndex || k == rootGenerated
}

type root struct {
	kind  rootKind
	desc  string // "CHECK constraint orders_payload_check on public.orders"
	name  string // constraint, index or statistics name (for DROP)
	table qname
	exprs []*pg.Node
	path  []string // search_path the expressions were bound with
	loc   locator
	off   int
	order int
	// deps: --db mode, read from pg_depend
	deps   []*dep
	ignore map[string]bool
}

// trigger tracks CREATE TRIGGER and ALTER TABLE ... ENABLE ... TRIGGER.
type trigger struct {
	name        string
	transitions []string // REFERENCING NEW/OLD TABLE AS names
	table       qname
	fn          qname
	when        *pg.Node
	enabled     byte // O origin/local, D disabled, R replica, A always
	path        []string
	loc         locator
	off         int
	order       int
	ignore      map[string]bool
}

// catalog is the model names resolve against: what the input defines (or
// the live database holds) plus what pg_catalog provides.
type catalog struct {
	bi          *builtins
	funcs       map[string][]*funcObj // by name
	rels        map[qname]*relObj
	relsByName  map[string][]*relObj
	types       map[qname]*typeObj
	typesByName map[string][]*typeObj
	ops         map[string][]*opObj // by symbol
	schemas     map[string]bool
	extSchemas  []string // schemas extensions were created in (their objects are unknown)
	// extInCatalog: an extension was created in pg_catalog, so a name the
	// input does not define may well resolve there.
	extInCatalog bool
	roots        []*root
	triggers     []*trigger
	nextOrder    int
	live         bool // read from a database: every object is known
}

func newCatalog(bi *builtins) *catalog {
	return &catalog{
		bi:          bi,
		funcs:       map[string][]*funcObj{},
		rels:        map[qname]*relObj{},
		relsByName:  map[string][]*relObj{},
		types:       map[qname]*typeObj{},
		typesByName: map[string][]*typeObj{},
		ops:         map[string][]*opObj{},
		schemas:     map[string]bool{"public": true, "pg_catalog": true},
	}
}

func (c *catalog) order() int { c.nextOrder++; return c.nextOrder }

func (c *catalog) addFunc(f *funcObj) {
	if f.order == 0 {
		f.order = c.order()
	}
	c.funcs[f.name] = append(c.funcs[f.name], f)
	if f.schema == "pg_catalog" {
		c.bi.add("f", f.name, f.minArgs, f.maxArgs)
	}
}

func (c *catalog) removeFunc(f *funcObj) {
	l := c.funcs[f.name]
	for i, g := range l {
		if g == f {
			c.funcs[f.name] = append(l[:i:i], l[i+1:]...)
			return
		}
	}
}

func (c *catalog) addRel(r *relObj) {
	if old := c.rels[r.qname]; old != nil {
		c.removeRel(old)
	}
	c.rels[r.qname] = r
	c.relsByName[r.name] = append(c.relsByName[r.name], r)
	if r.schema == "pg_catalog" {
		c.bi.add("r", r.name, 0, 0)
	}
}

func (c *catalog) removeRel(r *relObj) {
	delete(c.rels, r.qname)
	l := c.relsByName[r.name]
	for i, x := range l {
		if x == r {
			c.relsByName[r.name] = append(l[:i:i], l[i+1:]...)
			break
		}
	}
}

func (c *catalog) addType(t *typeObj) {
	c.types[t.qname] = t
	c.typesByName[t.name] = append(c.typesByName[t.name], t)
	if t.schema == "pg_catalog" {
		c.bi.add("t", t.name, 0, 0)
	}
}

func (c *catalog) addOp(o *opObj) {
	c.ops[o.name] = append(c.ops[o.name], o)
	if o.schema == "pg_catalog" {
		c.bi.add("o", o.name, 0, 0)
	}
}

// funcsIn returns the functions of a schema with that name, preferring those
// that accept nargs arguments.
func (c *catalog) funcsIn(schema, name string, nargs int) []*funcObj {
	var all, fit []*funcObj
	for _, f := range c.funcs[name] {
		if f.schema != schema {
			continue
		}
		all = append(all, f)
		if f.acceptsArgs(nargs) {
			fit = append(fit, f)
		}
	}
	if len(fit) > 0 {
		return fit
	}
	return all
}

// builtin says whether an unqualified name resolves in pg_catalog.
func (c *catalog) builtin(r ref) bool {
	if c.extInCatalog && len(c.schemasOf(r)) == 0 {
		return true // unknown, maybe the extension's: do not guess
	}
	switch r.kind {
	case refFunc:
		if c.bi.hasFunc(r.name, r.nargs) {
			return true
		}
		// pg_catalog has the name but not this arity: it only fails to
		// resolve if the intended function is a user one with that arity.
		if _, ok := c.bi.funcs[r.name]; ok {
			for _, f := range c.funcs[r.name] {
				if f.schema != "pg_catalog" && f.acceptsArgs(r.nargs) {
					return false
				}
			}
			return true
		}
		return false
	case refRel:
		return c.bi.rels[r.name]
	case refType:
		return c.bi.types[r.name]
	case refRowtype:
		return c.bi.rels[r.name] || c.bi.types[r.name]
	case refOp:
		return c.bi.ops[r.name]
	}
	return false
}

// known says whether schema holds an object that r can mean.
func (c *catalog) known(r ref, schema string) bool {
	switch r.kind {
	case refFunc:
		return len(c.funcsIn(schema, r.name, r.nargs)) > 0
	case refRel:
		return c.rels[qname{schema, r.name}] != nil
	case refType:
		return c.types[qname{schema, r.name}] != nil || c.rels[qname{schema, r.name}] != nil
	case refRowtype:
		return c.rels[qname{schema, r.name}] != nil || c.types[qname{schema, r.name}] != nil
	case refOp:
		for _, o := range c.ops[r.name] {
			if o.schema == schema {
				return true
			}
		}
	}
	return false
}

// schemasOf lists the schemas holding an object r can mean, in first-defined order.
func (c *catalog) schemasOf(r ref) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] && s != "pg_catalog" {
			seen[s] = true
			out = append(out, s)
		}
	}
	switch r.kind {
	case refFunc:
		for _, f := range c.funcs[r.name] {
			add(f.schema)
		}
	case refRel:
		for _, x := range c.relsByName[r.name] {
			add(x.schema)
		}
	case refType, refRowtype:
		for _, x := range c.typesByName[r.name] {
			add(x.schema)
		}
		for _, x := range c.relsByName[r.name] {
			add(x.schema)
		}
	case refOp:
		for _, o := range c.ops[r.name] {
			add(o.schema)
		}
	}
	return out
}

// resolvePath resolves an unqualified name the way the server would with
// this search_path: pg_catalog first unless listed, then the path. It
// returns the schema ("" if it does not resolve) and whether it is pg_catalog.
func (c *catalog) resolvePath(r ref, path []string) (schema string, ok bool) {
	listed := false
	for _, s := range path {
		if s == "pg_catalog" {
			listed = true
		}
	}
	if !listed && c.builtin(r) {
		return "pg_catalog", true
	}
	for _, s := range path {
		switch s {
		case "pg_catalog":
			if c.builtin(r) {
				return "pg_catalog", true
			}
		case "pg_temp", "$user", "":
		default:
			if c.known(r, s) {
				return s, true
			}
		}
	}
	return "", false
}

// intended guesses where an unqualified name of a function body resolves on
// the source today, with the caller's usual search_path: the path the
// script created the function under, the function's own schema, public,
// then any schema that has it.
func (c *catalog) intended(f *funcObj, r ref) string {
	var order []string
	order = append(order, f.createPath...)
	order = append(order, f.schema, "public")
	for _, s := range order {
		if s == "" || s == "$user" || s == "pg_temp" || s == "pg_catalog" {
			continue
		}
		if c.known(r, s) {
			return s
		}
	}
	if ss := c.schemasOf(r); len(ss) > 0 {
		return ss[0]
	}
	return ""
}

// defaultPath is what a session without SET search_path uses.
var defaultPath = []string{"$user", "public"}
