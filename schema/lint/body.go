package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"
	"golang.org/x/sync/errgroup"
)

// analyzeAll analyzes every function body up front, in parallel: bodies
// are independent and parsing them is most of a lint's work.
func (c *catalog) analyzeAll(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, l := range c.funcs {
		for _, f := range l {
			if f.analyzed {
				continue
			}
			g.Go(func() error {
				if err := ctx.Err(); err != nil {
					return err
				}
				c.analyzeBody(f)
				return nil
			})
		}
	}
	return g.Wait()
}

// analyzeBody finds the names a function's body uses: f.refs (resolved when
// the function runs, with the caller's search_path unless the function pins
// one), f.bound (BEGIN ATOMIC: resolved at creation), f.dynamic and
// f.problem.
func (c *catalog) analyzeBody(f *funcObj) {
	if f.analyzed {
		return
	}
	f.analyzed = true
	if f.atomic != nil {
		col := newCollector(func(loc int32) int { return int(loc) - f.atomicBase })
		col.collect(f.atomic)
		f.bound = col.result()
		return
	}
	switch f.lang {
	case "sql":
		analyzeSQLBody(f)
	case "plpgsql":
		c.analyzePLpgSQL(f)
	case "c", "internal", "":
		// compiled code or no body: nothing that resolves names by text
	default:
		f.problem = "its body is written in LANGUAGE " + f.lang + ", which pgverify cannot check"
	}
	f.dropTransitions()
}

func analyzeSQLBody(f *funcObj) {
	tree, err := pg.Parse(f.body)
	if err != nil {
		f.problem = "its SQL body does not parse: " + err.Error()
		f.parseFailed = true
		return
	}
	col := newCollector(func(loc int32) int { return f.bodyToDef(int(loc)) })
	for _, s := range tree.Stmts {
		col.collect(s.Stmt)
	}
	f.refs = col.result()
	f.bodyPath = col.setPath
}

// --- PL/pgSQL ---

// jobj is a JSON object with its keys in sorted order (deterministic
// traversal; arrays keep their order, so statements stay in source order).
type jobj []jkv

type jkv struct {
	k string
	v any
}

func (o jobj) get(k string) any {
	for _, kv := range o {
		if kv.k == k {
			return kv.v
		}
	}
	return nil
}

// ordered turns json.Unmarshal's maps into jobj, recursively.
func ordered(v any) any {
	switch x := v.(type) {
	case map[string]any:
		o := make(jobj, 0, len(x))
		for k, e := range x {
			o = append(o, jkv{k, ordered(e)})
		}
		sort.Slice(o, func(i, j int) bool { return o[i].k < o[j].k })
		return o
	case []any:
		for i, e := range x {
			x[i] = ordered(e)
		}
		return x
	}
	return v
}

func num(v any) int {
	if f, ok := v.(float64); ok {
		return int(f)
	}
	return 0
}

type plState struct {
	c       *catalog
	f       *funcObj
	col     *collector
	lines   []int // line starts of the body
	vars    map[string]bool
	cursor  int
	prob    []string
	pending []plExpr
	swallow int // > 0 inside a block whose EXCEPTION handler catches a missing name
}

// swallowingConditions are the EXCEPTION conditions that catch "function
// (or relation, type, schema) does not exist".
var swallowingConditions = map[string]bool{
	"others": true, "undefined_function": true, "undefined_table": true, "undefined_object": true,
	"invalid_schema_name": true, "syntax_error_or_access_rule_violation": true,
	"42883": true, "42P01": true, "42704": true, "3F000": true,
}

// catchesMissingName says whether a PLpgSQL_exception_block has a handler
// that catches a name that does not resolve.
func catchesMissingName(v any) bool {
	found := false
	var visit func(v any)
	visit = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				visit(e)
			}
		case jobj:
			if c, ok := x.get("PLpgSQL_condition").(jobj); ok {
				if n, ok := c.get("condname").(string); ok && swallowingConditions[n] {
					found = true
				}
				return
			}
			for _, kv := range x {
				if kv.k != "action" { // the handler's own statements
					visit(kv.v)
				}
			}
		}
	}
	visit(v)
	return found
}

// plExpr is an embedded expression rewritten as an SQL statement.
type plExpr struct {
	sql      string
	base     int // body offset of the expression text; -1 unknown
	shift    int // body offset = base + location - shift
	fallback int // body offset to use when base is unknown
	lineno   int
	dyn      bool
	swallow  bool // inside a block whose handler catches a missing name
}

// declType is a declared variable type the parse retry replaced by record.
type declType struct {
	text string
	off  int // in the body
}

func (c *catalog) analyzePLpgSQL(f *funcObj) {
	if f.body == "" {
		// pg_query's PL/pgSQL parser aborts the process (an assertion in C)
		// on a CREATE FUNCTION without a body; Postgres itself rejects it.
		f.problem = "its CREATE FUNCTION has no PL/pgSQL body (no AS clause)"
		return
	}
	js, err := pg.ParsePlPgSqlToJSON(f.def)
	var decls []declType
	if err != nil {
		// pg_query's PL/pgSQL parser has no catalog: a variable of a row
		// type is taken for a scalar, and field assignments or FOR loops
		// over it fail. Declaring such variables as record fixes that; the
		// real declared types are checked from the original text.
		if def2, d, ok := c.rewriteDeclares(f); ok {
			if js2, err2 := pg.ParsePlPgSqlToJSON(def2); err2 == nil {
				js, err, decls = js2, nil, d
			}
		}
	}
	if err != nil {
		c.plFallback(f, err)
		return
	}
	var raw any
	if err := json.Unmarshal([]byte(js), &raw); err != nil {
		f.problem = "its PL/pgSQL parse tree could not be read: " + err.Error()
		return
	}
	funcs, _ := ordered(raw).([]any)
	if len(funcs) == 0 {
		f.problem = "the PL/pgSQL parser returned no function"
		return
	}
	fn, _ := funcs[0].(jobj)
	fn, _ = fn.get("PLpgSQL_function").(jobj)
	p := &plState{c: c, f: f, col: newCollector(nil), lines: lineStarts(f.body), vars: map[string]bool{}}
	datums, _ := fn.get("datums").([]any)
	for _, d := range datums {
		if o, ok := d.(jobj); ok && len(o) == 1 {
			if body, ok := o[0].v.(jobj); ok {
				if n, ok := body.get("refname").(string); ok {
					p.vars[strings.ToLower(n)] = true
				}
			}
		}
	}
	for _, d := range decls {
		p.declared(d.text, d.off)
	}
	for _, d := range datums {
		o, ok := d.(jobj)
		if !ok || len(o) != 1 {
			continue
		}
		body, _ := o[0].v.(jobj)
		lineno := num(body.get("lineno"))
		if lineno <= 0 {
			continue // parameters, FOUND, NEW/OLD: bound by the signature
		}
		if dt, ok := body.get("datatype").(jobj); ok {
			if t, ok := dt.get("PLpgSQL_type").(jobj); ok {
				if tn, ok := t.get("typname").(string); ok {
					p.declared(tn, p.findOnLine(tn, lineno))
				}
			}
		}
		p.walk(body, lineno, o[0].k, false)
	}
	p.walk(fn.get("action"), 0, "action", false)
	p.parsePending()
	f.refs = p.col.result()
	f.bodyPath = p.col.setPath
	if len(p.prob) > 0 && f.problem == "" {
		f.problem = "part of its PL/pgSQL body could not be parsed: " + p.prob[0]
		f.parseFailed = true
	}
}

// walk visits the PL/pgSQL tree in document order, keeping the line number
// of the innermost statement and whether an expression is a dynamic query.
func (p *plState) walk(v any, lineno int, key string, dyn bool) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			p.walk(e, lineno, key, dyn)
		}
	case jobj:
		if ln := num(x.get("lineno")); ln > 0 {
			lineno = ln
		}
		for _, kv := range x {
			if kv.k == "PLpgSQL_expr" {
				if e, ok := kv.v.(jobj); ok {
					p.expr(e, lineno, dyn)
				}
				continue
			}
			childDyn := kv.k == "dynquery" ||
				kv.k == "query" && (key == "PLpgSQL_stmt_dynexecute" || key == "PLpgSQL_stmt_dynfors")
			// The statements of a block whose handler catches a missing name.
			guarded := kv.k == "body" && key == "PLpgSQL_stmt_block" && catchesMissingName(x.get("exceptions"))
			if guarded {
				p.swallow++
			}
			p.walk(kv.v, lineno, kv.k, childDyn)
			if guarded {
				p.swallow--
			}
		}
	}
}

func (p *plState) lineStart(lineno int) int {
	if lineno >= 1 && lineno <= len(p.lines) {
		return p.lines[lineno-1]
	}
	return 0
}

func (p *plState) findOnLine(s string, lineno int) int {
	ls := p.lineStart(lineno)
	if i := strings.Index(p.f.body[ls:], s); i >= 0 {
		return ls + i
	}
	return ls
}

// locate finds where an expression's text starts in the body. PL/pgSQL
// copies it from the source, blanking an INTO clause and turning PERFORM
// into SELECT (same length), so blanks match anything.
func (p *plState) locate(q string, lineno int) int {
	ls := p.lineStart(lineno)
	body := p.f.body
	try := func(from int, q string) int {
		if from < 0 || from > len(body) {
			return -1
		}
		if i := strings.Index(body[from:], q); i >= 0 {
			return from + i
		}
		for i := from; i+len(q) <= len(body); i++ {
			if matchBlanks(body[i:i+len(q)], q) {
				return i
			}
		}
		return -1
	}
	from := ls
	if p.cursor > ls {
		from = p.cursor
	}
	for _, start := range []int{from, ls} {
		if i := try(start, q); i >= 0 {
			p.cursor = i + len(q)
			return i
		}
		if rest, ok := strings.CutPrefix(q, "SELECT "); ok { // PERFORM
			if i := try(start, rest); i >= 7 {
				p.cursor = i + len(rest)
				return i - 7
			}
		}
	}
	return -1
}

func matchBlanks(s, q string) bool {
	for j := 0; j < len(q); j++ {
		if q[j] != ' ' && q[j] != s[j] {
			return false
		}
	}
	return true
}

// expr parses one embedded expression or statement again with the SQL
// parser and collects its names.
func (p *plState) expr(e jobj, lineno int, dyn bool) {
	q, _ := e.get("query").(string)
	if strings.TrimSpace(q) == "" {
		return
	}
	base := p.locate(q, lineno)
	fallback := p.lineStart(lineno)
	var sql string
	var shift int // body index = base + location - shift
	switch mode := num(e.get("parseMode")); mode {
	case 0: // a whole statement
		sql = q
	case 2: // an expression
		sql, shift = "SELECT "+q, 7
	case 3, 4, 5: // an assignment: target := expression
		rest := assignRest(q)
		if rest < 0 {
			p.prob = append(p.prob, "cannot split assignment "+q)
			return
		}
		sql, shift = "SELECT "+q[rest:], 7-rest
	default:
		return
	}
	p.pending = append(p.pending, plExpr{sql: sql, base: base, shift: shift, fallback: fallback, lineno: lineno, dyn: dyn, swallow: p.swallow > 0})
}

// parsePending parses all expressions of the function in one call (one
// statement each), falling back to one call per expression if any of them
// does not parse.
func (p *plState) parsePending() {
	if len(p.pending) == 0 {
		return
	}
	var b strings.Builder
	starts := make([]int, len(p.pending))
	for i, e := range p.pending {
		if i > 0 {
			b.WriteString("\n;\n") // a newline ends a trailing -- comment
		}
		starts[i] = b.Len()
		b.WriteString(e.sql)
	}
	if tree, err := pg.Parse(b.String()); err == nil && len(tree.Stmts) == len(p.pending) {
		for i, raw := range tree.Stmts {
			p.collectExpr(p.pending[i], raw, int32(starts[i]))
		}
		return
	}
	for _, e := range p.pending {
		tree, err := pg.Parse(e.sql)
		if err != nil {
			p.prob = append(p.prob, fmt.Sprintf("line %d: %v", e.lineno, err))
			continue
		}
		for _, raw := range tree.Stmts {
			p.collectExpr(e, raw, 0)
		}
	}
}

// collectExpr collects one parsed expression; delta is where its text
// starts in the string that was parsed.
func (p *plState) collectExpr(e plExpr, raw *pg.RawStmt, delta int32) {
	f := p.f
	at := func(loc int32) int {
		if e.base < 0 {
			return f.bodyToDef(e.fallback)
		}
		return f.bodyToDef(e.base + int(loc-delta) - e.shift)
	}
	p.col.off = at
	p.col.swallow = e.swallow
	p.col.collect(raw.Stmt)
	if e.dyn {
		p.dynamicQuery(raw, at, e.shift+int(delta))
	}
	p.col.swallow = false
}

// dynamicQuery checks EXECUTE's query string: a constant is parsed and
// checked like any other SQL; anything computed is recorded as dynamic.
// at maps a location in the parsed text; exprStart is the location where
// the expression itself starts.
func (p *plState) dynamicQuery(raw *pg.RawStmt, at func(int32) int, exprStart int) {
	if sel := raw.Stmt.GetSelectStmt(); sel != nil && len(sel.TargetList) == 1 && sel.FromClause == nil {
		if rt := sel.TargetList[0].GetResTarget(); rt != nil {
			if ac := rt.Val.GetAConst(); ac != nil && ac.GetSval() != nil {
				if inner, err := pg.Parse(ac.GetSval().Sval); err == nil {
					quote := ac.Location
					p.col.off = func(loc int32) int { return at(quote + 1 + loc) }
					for _, s := range inner.Stmts {
						p.col.collect(s.Stmt)
					}
					return
				}
			}
		}
	}
	p.f.dynamic = append(p.f.dynamic, at(int32(exprStart)))
}

// assignRest returns where the expression of "target := expression" starts.
func assignRest(q string) int {
	res, err := pg.Scan(q)
	if err != nil {
		return -1
	}
	depth := 0
	for _, t := range res.Tokens {
		switch t.Token {
		case pg.Token_ASCII_40, pg.Token_ASCII_91: // ( [
			depth++
		case pg.Token_ASCII_41, pg.Token_ASCII_93: // ) ]
			depth--
		case pg.Token_COLON_EQUALS, pg.Token_ASCII_61: // := =
			if depth == 0 {
				return int(t.End)
			}
		}
	}
	return -1
}

// declared records the type of a DECLAREd variable at body offset off.
func (p *plState) declared(typname string, off int) {
	t := strings.TrimSpace(typname)
	low := strings.ToLower(t)
	r := ref{nargs: -1, off: p.f.bodyToDef(off)}
	switch {
	case strings.HasSuffix(low, "%rowtype"):
		parts, ok := splitQualified(strings.TrimSpace(t[:len(t)-len("%rowtype")]))
		if !ok {
			return
		}
		r.kind, r.qname = refRowtype, lastTwo(parts)
	case strings.HasSuffix(low, "%type"):
		parts, ok := splitQualified(strings.TrimSpace(t[:len(t)-len("%type")]))
		if !ok || len(parts) < 2 || p.vars[parts[0]] {
			return // a variable's type, not a column's
		}
		r.kind, r.qname = refRel, lastTwo(parts[:len(parts)-1])
	default:
		tn := parseTypeName(t)
		if tn == nil {
			return
		}
		r.kind, r.qname = refType, lastTwo(strs(tn.Names))
		if r.schema == "" && (r.name == "record" || r.name == "refcursor") {
			return
		}
	}
	p.col.add(r)
}

// typeNames caches parseTypeName: the same few declared types recur in
// every function. The cached trees are only read.
var typeNames sync.Map

// parseTypeName parses a type name with the real parser.
func parseTypeName(s string) *pg.TypeName {
	if v, ok := typeNames.Load(s); ok {
		return v.(*pg.TypeName)
	}
	var tn *pg.TypeName
	if tree, err := pg.Parse("SELECT NULL::" + s); err == nil && len(tree.Stmts) == 1 {
		if sel := tree.Stmts[0].Stmt.GetSelectStmt(); sel != nil && len(sel.TargetList) == 1 {
			tn = sel.TargetList[0].GetResTarget().GetVal().GetTypeCast().GetTypeName()
		}
	}
	typeNames.Store(s, tn)
	return tn
}

// rewriteDeclares returns the definition with every DECLAREd variable whose
// type is not a pg_catalog scalar declared as record instead, and the
// original declared types. It reads the declarations with the real scanner.
func (c *catalog) rewriteDeclares(f *funcObj) (string, []declType, bool) {
	if f.bodyTok < 0 {
		return "", nil, false
	}
	res, err := pg.Scan(f.body)
	if err != nil {
		return "", nil, false
	}
	toks := res.Tokens
	text := func(t *pg.ScanToken) string { return f.body[t.Start:t.End] }
	type span struct{ from, to int }
	var spans []span
	var decls []declType
	for i := 0; i < len(toks); i++ {
		if toks[i].Token != pg.Token_DECLARE {
			continue
		}
		j := i + 1
		for j < len(toks) && toks[j].Token != pg.Token_BEGIN_P {
			k, depth := j, 0
			for k < len(toks) {
				t := toks[k].Token
				if depth == 0 && (t == pg.Token_ASCII_59 || t == pg.Token_BEGIN_P) {
					break
				}
				switch t {
				case pg.Token_ASCII_40, pg.Token_ASCII_91:
					depth++
				case pg.Token_ASCII_41, pg.Token_ASCII_93:
					depth--
				}
				k++
			}
			decl := toks[j:k]
			if k < len(toks) && toks[k].Token == pg.Token_ASCII_59 {
				k++
			}
			j = k
			if len(decl) < 2 {
				continue
			}
			t := 1
			w := strings.ToLower(text(decl[1]))
			if w == "alias" {
				continue
			}
			if w == "constant" {
				t = 2
			}
			cursor := false
			for _, d := range decl {
				if d.Token == pg.Token_CURSOR {
					cursor = true
				}
			}
			if cursor || t >= len(decl) {
				continue
			}
			end := t
			for end < len(decl) {
				switch decl[end].Token {
				case pg.Token_COLLATE, pg.Token_NOT, pg.Token_DEFAULT, pg.Token_COLON_EQUALS, pg.Token_ASCII_61:
					goto done
				}
				end++
			}
		done:
			if end == t {
				continue
			}
			from, to := int(decl[t].Start), int(decl[end-1].End)
			typ := f.body[from:to]
			if c.scalarType(typ) {
				continue
			}
			spans = append(spans, span{from, to})
			decls = append(decls, declType{text: typ, off: from})
		}
		i = j
	}
	if len(spans) == 0 {
		return "", nil, false
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].from > spans[b].from })
	def := f.def
	for _, s := range spans {
		from, to := f.bodyToDef(s.from), f.bodyToDef(s.to-1)+1
		repl := "record"
		if n := strings.Count(def[from:to], "\n"); n > 0 {
			repl += strings.Repeat("\n", n)
		}
		def = def[:from] + repl + def[to:]
	}
	return def, decls, true
}

// scalarType says whether a declared type is a pg_catalog type (or a
// column's %TYPE), which pg_query's PL/pgSQL parser handles as declared.
func (c *catalog) scalarType(typ string) bool {
	low := strings.ToLower(strings.TrimSpace(typ))
	if strings.HasSuffix(low, "%type") {
		return true
	}
	if strings.HasSuffix(low, "%rowtype") {
		return false
	}
	tn := parseTypeName(typ)
	if tn == nil {
		return true
	}
	q := lastTwo(strs(tn.Names))
	if q.schema == "pg_catalog" {
		return true
	}
	return q.schema == "" && c.bi.types[q.name] && len(c.typesByName[q.name]) == 0 && len(c.relsByName[q.name]) == 0
}
