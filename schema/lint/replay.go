package lint

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
)

// ParseError is an input that does not parse: nothing of it can be trusted,
// so the command exits 2.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s (fix the SQL, or lint the live database with --db)", e.File, e.Line, e.Col, e.Msg)
}

func parseError(f *srcFile, err error) error {
	msg := err.Error()
	off := 0
	if pe, ok := err.(*parser.Error); ok && pe.Cursorpos > 0 {
		// cursorpos counts characters from 1.
		n := pe.Cursorpos - 1
		for off < len(f.text) && n > 0 {
			_, w := utf8.DecodeRuneInString(f.text[off:])
			off += w
			n--
		}
	}
	line, col := f.pos(off)
	return &ParseError{File: f.name, Line: line, Col: col, Msg: msg}
}

// stmt is one top-level statement of a script.
type stmt struct {
	start, end int // [start, end) in the file; start is pg_query's stmt_location
	first      int // offset of the first token
	ignore     map[string]bool
}

// ignoreRe finds "pgverify:ignore PGV101, PGV102" in a statement's comments
// (a trivial pattern; SQL itself is never parsed with regular expressions).
var ignoreRe = regexp.MustCompile(`(?i)pgverify:ignore[ \t]+(PGV[0-9]+(?:[ \t]*,[ \t]*PGV[0-9]+)*)`)

// parseIgnores returns the codes named by ignore comments in text.
func parseIgnores(text string) map[string]bool {
	if !strings.Contains(strings.ToLower(text), "pgverify:ignore") {
		return nil
	}
	m := map[string]bool{}
	for _, sub := range ignoreRe.FindAllStringSubmatch(text, -1) {
		for _, c := range strings.Split(sub[1], ",") {
			m[strings.ToUpper(strings.TrimSpace(c))] = true
		}
	}
	return m
}

// replayer builds the catalog from a script, statement by statement,
// following the script's own search_path.
type replayer struct {
	cat  *catalog
	f    *srcFile
	path []string
	// The parse tree being replayed covers f.text[base:limit]; its
	// locations are relative to base.
	base, limit int
}

func (c *catalog) replayFile(ctx context.Context, f *srcFile) error {
	chunks, err := parseChunks(ctx, f)
	if err != nil {
		return err
	}
	rp := &replayer{cat: c, f: f, path: defaultPath}
	for _, ch := range chunks {
		rp.base, rp.limit = ch.from, ch.to
		for _, raw := range ch.tree.Stmts {
			st := rp.newStmt(raw)
			rp.stmt(raw.Stmt, st)
		}
	}
	return nil
}

// wholeParses counts fallbacks from a split parse (tests look at it).
var wholeParses atomic.Int64

// chunk is the parse tree of f.text[from:to].
type chunk struct {
	from, to int
	tree     *pg.ParseResult
}

// parseChunks parses a large script in pieces at once, split at statement
// ends. If any piece fails to parse (a real syntax error, or a split inside
// a BEGIN ATOMIC body, whose semicolons a lexer cannot tell from statement
// ends), the script is parsed whole, so results and errors are exactly the
// parser's.
func parseChunks(ctx context.Context, f *srcFile) ([]chunk, error) {
	const minChunk = 128 << 10
	n := runtime.GOMAXPROCS(0) * 2
	if k := len(f.text) / minChunk; k < n {
		n = k
	}
	if n >= 2 {
		var chunks []chunk
		from := 0
		for i := 1; i < n && from < len(f.text); i++ {
			target := len(f.text) * i / n
			j := sort.SearchInts(f.ends, target)
			if j >= len(f.ends) || f.ends[j] <= from {
				continue
			}
			chunks = append(chunks, chunk{from: from, to: f.ends[j]})
			from = f.ends[j]
		}
		chunks = append(chunks, chunk{from: from, to: len(f.text)})
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(runtime.GOMAXPROCS(0))
		for i := range chunks {
			g.Go(func() error {
				if err := gctx.Err(); err != nil {
					return err
				}
				t, err := pg.Parse(f.text[chunks[i].from:chunks[i].to])
				chunks[i].tree = t
				return err
			})
		}
		if err := g.Wait(); err == nil {
			return chunks, nil
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		wholeParses.Add(1)
	}
	tree, err := pg.Parse(f.text)
	if err != nil {
		return nil, parseError(f, err)
	}
	return []chunk{{from: 0, to: len(f.text), tree: tree}}, nil
}

// abs turns a parse-tree location into a file offset (-1 stays -1).
func (rp *replayer) abs(loc int32) int32 {
	if loc < 0 {
		return loc
	}
	return loc + int32(rp.base)
}

func (rp *replayer) newStmt(raw *pg.RawStmt) *stmt {
	text := rp.f.text
	start := rp.base + int(raw.StmtLocation)
	end := rp.limit
	if raw.StmtLen > 0 {
		end = start + int(raw.StmtLen)
	}
	st := &stmt{start: start, end: end, first: skipSpaceAndComments(text, start)}
	// The ignore comment may lead the statement, sit inside it, or trail its
	// last line; a trailing comment of the previous statement is not ours.
	from := start
	if start > 0 && text[start-1] != '\n' {
		nl := indexFrom(text, start, '\n')
		if strings.HasPrefix(strings.TrimSpace(text[start:nl]), "--") {
			from = nl
		}
	}
	to := indexFrom(text, end, '\n')
	if from < to {
		st.ignore = parseIgnores(text[from:to])
	}
	return st
}

func (rp *replayer) stmt(n *pg.Node, st *stmt) {
	switch s := n.GetNode().(type) {
	case *pg.Node_VariableSetStmt:
		rp.setPath(s.VariableSetStmt)
	case *pg.Node_SelectStmt:
		rp.selectSetConfig(s.SelectStmt)
	case *pg.Node_CreateSchemaStmt:
		rp.cat.schemas[s.CreateSchemaStmt.Schemaname] = true
	case *pg.Node_CreateExtensionStmt:
		schema := rp.creationSchema()
		for _, o := range s.CreateExtensionStmt.Options {
			if d := o.GetDefElem(); d != nil && d.Defname == "schema" {
				if v := d.Arg.GetString_(); v != nil {
					schema = v.Sval
				}
			}
		}
		if schema == "pg_catalog" && s.CreateExtensionStmt.Extname != "plpgsql" {
			rp.cat.extInCatalog = true
		}
		for _, x := range rp.cat.extSchemas {
			if x == schema {
				return
			}
		}
		if schema != "pg_catalog" {
			rp.cat.extSchemas = append(rp.cat.extSchemas, schema)
		}
	case *pg.Node_CreateFunctionStmt:
		rp.createFunction(s.CreateFunctionStmt, st)
	case *pg.Node_AlterFunctionStmt:
		rp.alterFunction(s.AlterFunctionStmt)
	case *pg.Node_CreateStmt:
		rp.createTable(s.CreateStmt, 'r', st)
	case *pg.Node_CreateForeignTableStmt:
		rp.createTable(s.CreateForeignTableStmt.BaseStmt, 'f', st)
	case *pg.Node_AlterTableStmt:
		rp.alterTable(s.AlterTableStmt, st)
	case *pg.Node_IndexStmt:
		rp.createIndex(s.IndexStmt, st)
	case *pg.Node_CreateTrigStmt:
		rp.createTrigger(s.CreateTrigStmt, st)
	case *pg.Node_ViewStmt:
		v := s.ViewStmt
		rp.cat.addRel(&relObj{qname: rp.qualify(rangeVarName(v.View)), kind: 'v', query: v.Query, path: rp.path})
	case *pg.Node_CreateTableAsStmt:
		rp.createTableAs(s.CreateTableAsStmt, st)
	case *pg.Node_CreateSeqStmt:
		rp.cat.addRel(&relObj{qname: rp.qualify(rangeVarName(s.CreateSeqStmt.Sequence)), kind: 'S'})
	case *pg.Node_CompositeTypeStmt:
		rp.cat.addType(&typeObj{qname: rp.qualify(rangeVarName(s.CompositeTypeStmt.Typevar)), kind: 'c'})
	case *pg.Node_CreateEnumStmt:
		rp.cat.addType(&typeObj{qname: rp.qualify(lastTwo(strs(s.CreateEnumStmt.TypeName))), kind: 'e'})
	case *pg.Node_CreateRangeStmt:
		q := rp.qualify(lastTwo(strs(s.CreateRangeStmt.TypeName)))
		rp.cat.addType(&typeObj{qname: q, kind: 'r'})
		rp.cat.addType(&typeObj{qname: qname{q.schema, multirangeName(q.name)}, kind: 'm'})
	case *pg.Node_CreateDomainStmt:
		rp.createDomain(s.CreateDomainStmt, st)
	case *pg.Node_AlterDomainStmt:
		rp.alterDomain(s.AlterDomainStmt, st)
	case *pg.Node_DefineStmt:
		rp.define(s.DefineStmt, st)
	case *pg.Node_CreateStatsStmt:
		rp.createStats(s.CreateStatsStmt, st)
	case *pg.Node_RenameStmt:
		rp.rename(s.RenameStmt)
	case *pg.Node_AlterObjectSchemaStmt:
		rp.setSchema(s.AlterObjectSchemaStmt)
	case *pg.Node_DropStmt:
		rp.drop(s.DropStmt)
	}
}

// multirangeName is the name PG 14+ gives a range type's multirange.
func multirangeName(rng string) string {
	if i := strings.Index(rng, "range"); i >= 0 {
		return rng[:i] + "multirange" + rng[i+len("range"):]
	}
	return rng + "_multirange"
}

// --- search_path of the script ---

func (rp *replayer) setPath(v *pg.VariableSetStmt) {
	switch {
	case v.Kind == pg.VariableSetKind_VAR_RESET_ALL:
		rp.path = defaultPath
	case v.Name != "search_path":
	case v.Kind == pg.VariableSetKind_VAR_SET_VALUE:
		rp.path = pathFromArgs(v.Args)
	case v.Kind == pg.VariableSetKind_VAR_SET_DEFAULT, v.Kind == pg.VariableSetKind_VAR_RESET:
		rp.path = defaultPath
	}
}

// selectSetConfig follows SELECT pg_catalog.set_config('search_path', ”, false),
// the first statement of every pg_dump script.
func (rp *replayer) selectSetConfig(s *pg.SelectStmt) {
	for _, t := range s.TargetList {
		rt := t.GetResTarget()
		if rt == nil {
			continue
		}
		fc := rt.Val.GetFuncCall()
		if fc == nil {
			continue
		}
		q := lastTwo(strs(fc.Funcname))
		if q.name != "set_config" || (q.schema != "" && q.schema != "pg_catalog") || len(fc.Args) < 2 {
			continue
		}
		name, ok1 := constString(fc.Args[0])
		val, ok2 := constString(fc.Args[1])
		if ok1 && ok2 && strings.EqualFold(name, "search_path") {
			rp.path = parsePathList(val)
		}
	}
}

func constString(n *pg.Node) (string, bool) {
	if ac := n.GetAConst(); ac != nil && ac.GetSval() != nil {
		return ac.GetSval().Sval, true
	}
	if tc := n.GetTypeCast(); tc != nil {
		return constString(tc.Arg)
	}
	return "", false
}

// pathFromArgs turns SET search_path = a, 'b', "C" into schema names.
func pathFromArgs(args []*pg.Node) []string {
	path := []string{}
	for _, a := range args {
		if s, ok := constString(a); ok {
			if s == "" {
				continue
			}
			path = append(path, s)
		}
	}
	return path
}

// parsePathList splits a search_path string the way the server does:
// comma-separated, unquoted names folded to lower case.
func parsePathList(s string) []string {
	path := []string{}
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			break
		}
		var b strings.Builder
		quoted := s[i] == '"'
		if quoted {
			i++
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
		} else {
			for i < len(s) && s[i] != ',' {
				b.WriteByte(s[i])
				i++
			}
		}
		name := b.String()
		if !quoted {
			name = strings.TrimSpace(name)
			if !strings.HasPrefix(name, "$") {
				name = strings.ToLower(name)
			}
		}
		if name != "" {
			path = append(path, name)
		}
	}
	return path
}

// creationSchema is where an unqualified CREATE puts the object.
func (rp *replayer) creationSchema() string {
	for _, s := range rp.path {
		if s == "$user" || s == "pg_temp" || s == "" {
			continue
		}
		return s
	}
	return "public"
}

// qualify gives an unqualified new object the creation schema.
func (rp *replayer) qualify(q qname) qname {
	if q.schema == "" {
		q.schema = rp.creationSchema()
	}
	return q
}

// existingRel resolves the relation an ALTER/CREATE INDEX names.
func (rp *replayer) existingRel(q qname) qname {
	if q.schema != "" {
		return q
	}
	for _, s := range rp.path {
		if rp.cat.rels[qname{s, q.name}] != nil {
			return qname{s, q.name}
		}
	}
	return rp.qualify(q)
}

// typeSchema returns the schema an unqualified type name resolves to with
// the script's search_path, if it is a type the input defines.
func (rp *replayer) typeSchema(name string) string {
	for _, s := range rp.path {
		if rp.cat.types[qname{s, name}] != nil || rp.cat.rels[qname{s, name}] != nil {
			return s
		}
	}
	return ""
}

func (rp *replayer) copyPath() []string { return append([]string(nil), rp.path...) }

// --- functions ---

func (rp *replayer) signature(q qname, params []*pg.Node) (ident string, oa *pg.ObjectWithArgs, min, max int) {
	var args []string
	oa = &pg.ObjectWithArgs{Objname: []*pg.Node{pg.MakeStrNode(q.schema), pg.MakeStrNode(q.name)}}
	variadic, ndef := false, 0
	for _, p := range params {
		fp := p.GetFunctionParameter()
		if fp == nil {
			continue
		}
		if fp.Mode == pg.FunctionParameterMode_FUNC_PARAM_OUT || fp.Mode == pg.FunctionParameterMode_FUNC_PARAM_TABLE {
			continue
		}
		if fp.Mode == pg.FunctionParameterMode_FUNC_PARAM_VARIADIC {
			variadic = true
		}
		if fp.Defexpr != nil {
			ndef++
		}
		args = append(args, formatTypeName(fp.ArgType, rp.typeSchema))
		oa.Objargs = append(oa.Objargs, &pg.Node{Node: &pg.Node_TypeName{TypeName: rp.qualifiedType(fp.ArgType)}})
	}
	min, max = len(args)-ndef, len(args)
	if variadic {
		max = -1
	}
	return q.String() + "(" + strings.Join(args, ", ") + ")", oa, min, max
}

// qualifiedType copies a type name, schema-qualifying a user-defined type
// written without a schema, so --fix output does not depend on the session.
func (rp *replayer) qualifiedType(tn *pg.TypeName) *pg.TypeName {
	c := proto.Clone(tn).(*pg.TypeName)
	c.Typmods = nil
	c.Location = -1
	if n := strs(c.Names); len(n) == 1 && !c.PctType {
		if s := rp.typeSchema(n[0]); s != "" {
			c.Names = []*pg.Node{pg.MakeStrNode(s), pg.MakeStrNode(n[0])}
		}
	}
	return c
}

func (rp *replayer) createFunction(n *pg.CreateFunctionStmt, st *stmt) {
	q := rp.qualify(lastTwo(strs(n.Funcname)))
	fo := &funcObj{
		qname: q, procedure: n.IsProcedure, kind: 'f',
		def: rp.f.text[st.start:st.end], loc: fileLocator{rp.f, st.start},
		bodyTok: -1, atomicBase: st.start - rp.base, createPath: rp.copyPath(), ignore: st.ignore,
	}
	if n.IsProcedure {
		fo.kind = 'p'
	}
	fo.ident, fo.objArgs, fo.minArgs, fo.maxArgs = rp.signature(q, n.Parameters)
	for _, o := range n.Options {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "language":
			if v := d.Arg.GetString_(); v != nil {
				fo.lang = strings.ToLower(v.Sval)
			}
		case "as":
			if l := d.Arg.GetList(); l != nil && len(l.Items) == 1 {
				if v := l.Items[0].GetString_(); v != nil {
					fo.body = v.Sval
				}
			}
		case "security":
			if b := d.Arg.GetBoolean(); b != nil {
				fo.secdef = b.Boolval
			}
		case "set":
			if v := d.Arg.GetVariableSetStmt(); v != nil {
				applySet(fo, v, rp.path)
			}
		}
	}
	if n.SqlBody != nil {
		fo.atomic = n.SqlBody
	}
	if fo.body != "" {
		fo.bodyTok, fo.bodyLit = locateBody(fo.def, fo.body)
	}
	// CREATE OR REPLACE (or a second definition in another file) replaces
	// the function with the same identity.
	for _, old := range rp.cat.funcs[q.name] {
		if old.ident == fo.ident {
			rp.cat.removeFunc(old)
			break
		}
	}
	rp.cat.addFunc(fo)
}

// applySet applies a function's SET/RESET clause.
func applySet(fo *funcObj, v *pg.VariableSetStmt, scriptPath []string) {
	if v.Kind == pg.VariableSetKind_VAR_RESET_ALL {
		fo.pinned, fo.path = false, nil
		return
	}
	if v.Name != "search_path" {
		return
	}
	switch v.Kind {
	case pg.VariableSetKind_VAR_SET_VALUE:
		fo.pinned, fo.path = true, pathFromArgs(v.Args)
	case pg.VariableSetKind_VAR_SET_CURRENT:
		fo.pinned, fo.path = true, append([]string(nil), scriptPath...)
	case pg.VariableSetKind_VAR_SET_DEFAULT, pg.VariableSetKind_VAR_RESET:
		fo.pinned, fo.path = false, nil
	}
}

// locateBody finds the body's string token in a CREATE FUNCTION statement
// with the real scanner: the string constant right after AS.
func locateBody(def, body string) (int, literal) {
	// Fast path: a dollar-quoted body appears verbatim between its tags.
	if body != "" {
		if i := strings.Index(def, body); i > 0 && def[i-1] == '$' {
			if j := strings.LastIndexByte(def[:i-1], '$'); j >= 0 {
				tag := def[j:i]
				if t, ok := dollarTag(tag, 0); ok && t == tag && strings.HasPrefix(def[i+len(body):], tag) {
					return j, literal{content: body, start: len(tag)}
				}
			}
		}
	}
	res, err := pg.Scan(def)
	if err != nil {
		return -1, literal{}
	}
	toks := res.Tokens
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].Token != pg.Token_AS || toks[i+1].Token != pg.Token_SCONST {
			continue
		}
		t := toks[i+1]
		lit, ok := decodeLiteral(def[t.Start:t.End])
		if ok && lit.content == body {
			return int(t.Start), lit
		}
	}
	return -1, literal{}
}

// findFunc finds the function an ALTER/DROP/RENAME names.
func (rp *replayer) findFunc(oa *pg.ObjectWithArgs) *funcObj {
	if oa == nil {
		return nil
	}
	q := lastTwo(strs(oa.Objname))
	var cands []*funcObj
	for _, f := range rp.cat.funcs[q.name] {
		if q.schema != "" && f.schema != q.schema {
			continue
		}
		if q.schema == "" && !inPath(f.schema, rp.path) {
			continue
		}
		cands = append(cands, f)
	}
	if oa.ArgsUnspecified {
		if len(cands) == 1 {
			return cands[0]
		}
		return nil
	}
	var args []string
	for _, a := range oa.Objargs {
		args = append(args, formatTypeName(a.GetTypeName(), rp.typeSchema))
	}
	want := "(" + strings.Join(args, ", ") + ")"
	for _, f := range cands {
		if strings.HasSuffix(f.ident, want) {
			return f
		}
	}
	return nil
}

func inPath(schema string, path []string) bool {
	if schema == "pg_catalog" {
		return true
	}
	for _, s := range path {
		if s == schema {
			return true
		}
	}
	return false
}

func (rp *replayer) alterFunction(n *pg.AlterFunctionStmt) {
	fo := rp.findFunc(n.Func)
	if fo == nil {
		return
	}
	for _, a := range n.Actions {
		d := a.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "set":
			if v := d.Arg.GetVariableSetStmt(); v != nil {
				applySet(fo, v, rp.path)
			}
		case "security":
			if b := d.Arg.GetBoolean(); b != nil {
				fo.secdef = b.Boolval
			}
		}
	}
}

// --- tables, constraints, defaults, indexes ---

// addRoot records a root; loc is its parse-tree location (-1: the statement).
func (rp *replayer) addRoot(r *root, st *stmt, loc int32) {
	loc = rp.abs(loc)
	r.path = rp.copyPath()
	r.loc = fileLocator{rp.f, 0}
	r.off = st.first
	if loc >= 0 && int(loc) >= st.start && int(loc) < st.end {
		r.off = int(loc)
	}
	r.ignore = st.ignore
	r.order = rp.cat.order()
	rp.cat.roots = append(rp.cat.roots, r)
}

func (rp *replayer) createTable(n *pg.CreateStmt, kind byte, st *stmt) {
	if n == nil || n.Relation == nil || n.Relation.Relpersistence == "t" {
		return
	}
	q := rp.qualify(rangeVarName(n.Relation))
	if n.Partspec != nil && kind == 'r' {
		kind = 'p'
	}
	rp.cat.addRel(&relObj{qname: q, kind: kind})
	for _, e := range n.TableElts {
		switch x := e.GetNode().(type) {
		case *pg.Node_ColumnDef:
			rp.column(q, x.ColumnDef, st)
		case *pg.Node_Constraint:
			rp.tableConstraint(q, x.Constraint, st)
		}
	}
	for _, c := range n.Constraints {
		if x := c.GetConstraint(); x != nil {
			rp.tableConstraint(q, x, st)
		}
	}
}

func (rp *replayer) column(table qname, cd *pg.ColumnDef, st *stmt) {
	if cd.RawDefault != nil {
		rp.addRoot(&root{kind: rootDefault, desc: fmt.Sprintf("DEFAULT of column %s on %s", quoteIdent(cd.Colname), table), table: table, exprs: []*pg.Node{cd.RawDefault}}, st, cd.Location)
	}
	for _, c := range cd.Constraints {
		con := c.GetConstraint()
		if con == nil {
			continue
		}
		switch con.Contype {
		case pg.ConstrType_CONSTR_DEFAULT:
			rp.addRoot(&root{kind: rootDefault, desc: fmt.Sprintf("DEFAULT of column %s on %s", quoteIdent(cd.Colname), table), table: table, exprs: []*pg.Node{con.RawExpr}}, st, con.Location)
		case pg.ConstrType_CONSTR_GENERATED:
			rp.addRoot(&root{kind: rootGenerated, desc: fmt.Sprintf("generated column %s on %s", quoteIdent(cd.Colname), table), table: table, exprs: []*pg.Node{con.RawExpr}}, st, con.Location)
		case pg.ConstrType_CONSTR_CHECK:
			name := con.Conname
			if name == "" {
				name = table.name + "_" + cd.Colname + "_check"
			}
			rp.checkRoot(table, name, con, st)
		}
	}
}

func (rp *replayer) checkRoot(table qname, name string, con *pg.Constraint, st *stmt) {
	rp.addRoot(&root{kind: rootCheck, desc: fmt.Sprintf("CHECK constraint %s on %s", quoteIdent(name), table), table: table, name: name, exprs: []*pg.Node{con.RawExpr}}, st, con.Location)
}

func (rp *replayer) tableConstraint(table qname, con *pg.Constraint, st *stmt) {
	switch con.Contype {
	case pg.ConstrType_CONSTR_CHECK:
		name := con.Conname
		if name == "" {
			name = table.name + "_check"
		}
		rp.checkRoot(table, name, con, st)
	case pg.ConstrType_CONSTR_EXCLUSION:
		exprs := append([]*pg.Node(nil), con.Exclusions...)
		if con.WhereClause != nil {
			exprs = append(exprs, con.WhereClause)
		}
		if hasExpressions(exprs) {
			// The constraint's index has the constraint's name; described
			// as --db mode describes it.
			idx := qname{table.schema, con.Conname}
			rp.addRoot(&root{kind: rootIndex, desc: fmt.Sprintf("index %s on %s", idx, table), table: table, name: con.Conname, exprs: exprs}, st, con.Location)
		}
	}
}

// hasExpressions says whether index elements compute anything (plain column
// references call no function).
func hasExpressions(nodes []*pg.Node) bool {
	found := false
	for _, n := range nodes {
		walk(n, func(m proto.Message) {
			switch x := m.(type) {
			case *pg.IndexElem:
				if x.Expr != nil {
					found = true
				}
			case *pg.FuncCall, *pg.A_Expr, *pg.TypeCast, *pg.SubLink:
				found = true
			}
		})
	}
	return found
}

func (rp *replayer) alterTable(n *pg.AlterTableStmt, st *stmt) {
	if n.Relation == nil {
		return
	}
	q := rp.existingRel(rangeVarName(n.Relation))
	for _, c := range n.Cmds {
		cmd := c.GetAlterTableCmd()
		if cmd == nil {
			continue
		}
		switch cmd.Subtype {
		case pg.AlterTableType_AT_AddConstraint:
			if con := cmd.Def.GetConstraint(); con != nil {
				rp.tableConstraint(q, con, st)
			}
		case pg.AlterTableType_AT_AddColumn:
			if cd := cmd.Def.GetColumnDef(); cd != nil {
				rp.column(q, cd, st)
			}
		case pg.AlterTableType_AT_ColumnDefault:
			desc := fmt.Sprintf("DEFAULT of column %s on %s", quoteIdent(cmd.Name), q)
			rp.removeRoots(func(r *root) bool { return r.kind == rootDefault && r.desc == desc })
			if cmd.Def != nil {
				rp.addRoot(&root{kind: rootDefault, desc: desc, table: q, exprs: []*pg.Node{cmd.Def}}, st, -1)
			}
		case pg.AlterTableType_AT_DropConstraint:
			rp.removeRoots(func(r *root) bool { return r.table == q && r.name == cmd.Name })
		case pg.AlterTableType_AT_EnableAlwaysTrig, pg.AlterTableType_AT_EnableReplicaTrig,
			pg.AlterTableType_AT_EnableTrig, pg.AlterTableType_AT_DisableTrig:
			state := map[pg.AlterTableType]byte{
				pg.AlterTableType_AT_EnableAlwaysTrig:  'A',
				pg.AlterTableType_AT_EnableReplicaTrig: 'R',
				pg.AlterTableType_AT_EnableTrig:        'O',
				pg.AlterTableType_AT_DisableTrig:       'D',
			}[cmd.Subtype]
			for _, t := range rp.cat.triggers {
				if t.table == q && t.name == cmd.Name {
					t.enabled = state
					t.loc, t.off = fileLocator{rp.f, 0}, st.first
					t.ignore = mergeIgnore(t.ignore, st.ignore)
				}
			}
		}
	}
}

func mergeIgnore(a, b map[string]bool) map[string]bool {
	if len(b) == 0 {
		return a
	}
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

func (rp *replayer) removeRoots(match func(*root) bool) {
	out := rp.cat.roots[:0]
	for _, r := range rp.cat.roots {
		if !match(r) {
			out = append(out, r)
		}
	}
	rp.cat.roots = out
}

func (rp *replayer) createIndex(n *pg.IndexStmt, st *stmt) {
	if n.Relation == nil {
		return
	}
	q := rp.existingRel(rangeVarName(n.Relation))
	var exprs []*pg.Node
	for _, p := range n.IndexParams {
		if ie := p.GetIndexElem(); ie != nil && ie.Expr != nil {
			exprs = append(exprs, ie.Expr)
		}
	}
	if n.WhereClause != nil {
		exprs = append(exprs, n.WhereClause)
	}
	if len(exprs) == 0 {
		return
	}
	name := n.Idxname
	rp.addRoot(&root{kind: rootIndex, desc: fmt.Sprintf("index %s on %s", qname{q.schema, name}, q), table: q, name: name, exprs: exprs}, st, -1)
}

func (rp *replayer) createTrigger(n *pg.CreateTrigStmt, st *stmt) {
	if n.Relation == nil {
		return
	}
	q := rp.existingRel(rangeVarName(n.Relation))
	t := &trigger{name: n.Trigname, table: q, fn: lastTwo(strs(n.Funcname)), when: n.WhenClause,
		enabled: 'O', path: rp.copyPath(), loc: fileLocator{rp.f, 0}, off: st.first, order: rp.cat.order(), ignore: st.ignore}
	for _, tr := range n.TransitionRels {
		if tt := tr.GetTriggerTransition(); tt != nil && tt.IsTable {
			t.transitions = append(t.transitions, tt.Name)
		}
	}
	if n.Replace {
		rp.dropTrigger(q, n.Trigname)
	}
	rp.cat.triggers = append(rp.cat.triggers, t)
}

func (rp *replayer) dropTrigger(table qname, name string) {
	out := rp.cat.triggers[:0]
	for _, t := range rp.cat.triggers {
		if !(t.table == table && t.name == name) {
			out = append(out, t)
		}
	}
	rp.cat.triggers = out
}

func (rp *replayer) createTableAs(n *pg.CreateTableAsStmt, st *stmt) {
	if n.Into == nil || n.Into.Rel == nil || n.Into.Rel.Relpersistence == "t" {
		return
	}
	q := rp.qualify(rangeVarName(n.Into.Rel))
	if n.Objtype != pg.ObjectType_OBJECT_MATVIEW {
		rp.cat.addRel(&relObj{qname: q, kind: 'r'})
		return
	}
	rp.cat.addRel(&relObj{qname: q, kind: 'm', query: n.Query, path: rp.copyPath()})
	rp.addRoot(&root{kind: rootMatview, desc: "materialized view " + q.String(), table: q, name: q.name, exprs: []*pg.Node{n.Query}}, st, -1)
}

func (rp *replayer) createDomain(n *pg.CreateDomainStmt, st *stmt) {
	q := rp.qualify(lastTwo(strs(n.Domainname)))
	rp.cat.addType(&typeObj{qname: q, kind: 'd'})
	for _, c := range n.Constraints {
		rp.domainConstraint(q, c.GetConstraint(), st)
	}
}

func (rp *replayer) domainConstraint(q qname, con *pg.Constraint, st *stmt) {
	if con == nil {
		return
	}
	switch con.Contype {
	case pg.ConstrType_CONSTR_CHECK:
		name := con.Conname
		if name == "" {
			name = q.name + "_check"
		}
		rp.addRoot(&root{kind: rootDomainCheck, desc: fmt.Sprintf("CHECK constraint %s on domain %s", quoteIdent(name), q), table: q, name: name, exprs: []*pg.Node{con.RawExpr}}, st, con.Location)
	case pg.ConstrType_CONSTR_DEFAULT:
		rp.addRoot(&root{kind: rootDefault, desc: "DEFAULT of domain " + q.String(), table: q, exprs: []*pg.Node{con.RawExpr}}, st, con.Location)
	}
}

func (rp *replayer) alterDomain(n *pg.AlterDomainStmt, st *stmt) {
	q := lastTwo(strs(n.TypeName))
	if q.schema == "" {
		if s := rp.typeSchema(q.name); s != "" {
			q.schema = s
		} else {
			q = rp.qualify(q)
		}
	}
	switch n.Subtype {
	case "C":
		rp.domainConstraint(q, n.Def.GetConstraint(), st)
	case "X":
		rp.removeRoots(func(r *root) bool { return r.kind == rootDomainCheck && r.table == q && r.name == n.Name })
	}
}

func (rp *replayer) define(n *pg.DefineStmt, st *stmt) {
	q := rp.qualify(lastTwo(strs(n.Defnames)))
	switch n.Kind {
	case pg.ObjectType_OBJECT_TYPE:
		rp.cat.addType(&typeObj{qname: q, kind: 'b'})
	case pg.ObjectType_OBJECT_AGGREGATE:
		rp.cat.addFunc(&funcObj{qname: q, kind: 'a', ident: q.String() + "(...)", minArgs: 0, maxArgs: -1, bodyTok: -1, loc: fileLocator{rp.f, st.start}})
	case pg.ObjectType_OBJECT_OPERATOR:
		o := &opObj{qname: q, nargs: 1}
		for _, d := range n.Definition {
			de := d.GetDefElem()
			if de == nil {
				continue
			}
			switch strings.ToLower(de.Defname) {
			case "function", "procedure":
				if tn := de.Arg.GetTypeName(); tn != nil {
					o.fn = lastTwo(strs(tn.Names))
				} else if l := de.Arg.GetList(); l != nil {
					o.fn = lastTwo(strs(l.Items))
				}
				if o.fn.schema == "" {
					o.fn.schema = rp.funcSchema(o.fn.name)
				}
			case "leftarg":
				o.nargs = 2
			}
		}
		rp.cat.addOp(o)
	}
}

// funcSchema resolves an unqualified function name with the script path.
func (rp *replayer) funcSchema(name string) string {
	for _, s := range rp.path {
		for _, f := range rp.cat.funcs[name] {
			if f.schema == s {
				return s
			}
		}
	}
	return rp.creationSchema()
}

func (rp *replayer) createStats(n *pg.CreateStatsStmt, st *stmt) {
	var exprs []*pg.Node
	for _, e := range n.Exprs {
		if se := e.GetStatsElem(); se != nil && se.Expr != nil {
			exprs = append(exprs, se.Expr)
		}
	}
	if len(exprs) == 0 {
		return
	}
	var table qname
	for _, r := range n.Relations {
		if rv := r.GetRangeVar(); rv != nil {
			table = rp.existingRel(rangeVarName(rv))
		}
	}
	q := rp.qualify(lastTwo(strs(n.Defnames)))
	rp.addRoot(&root{kind: rootStats, desc: fmt.Sprintf("statistics %s on %s", q, table), table: table, name: q.name, exprs: exprs}, st, -1)
}

func isFuncType(t pg.ObjectType) bool {
	return t == pg.ObjectType_OBJECT_FUNCTION || t == pg.ObjectType_OBJECT_PROCEDURE || t == pg.ObjectType_OBJECT_ROUTINE
}

func isRelType(t pg.ObjectType) bool {
	switch t {
	case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_MATVIEW,
		pg.ObjectType_OBJECT_SEQUENCE, pg.ObjectType_OBJECT_FOREIGN_TABLE:
		return true
	}
	return false
}

// moveFunc renames a function or moves it to another schema.
func (rp *replayer) moveFunc(fo *funcObj, to qname) {
	rp.cat.removeFunc(fo)
	params := strings.TrimPrefix(fo.ident, fo.qname.String())
	fo.qname = to
	fo.ident = to.String() + params
	if len(fo.objArgs.GetObjname()) == 2 {
		fo.objArgs.Objname = []*pg.Node{pg.MakeStrNode(to.schema), pg.MakeStrNode(to.name)}
	}
	rp.cat.addFunc(fo)
}

func (rp *replayer) moveRel(from, to qname) {
	r := rp.cat.rels[from]
	if r == nil {
		return
	}
	rp.cat.removeRel(r)
	r.qname = to
	rp.cat.addRel(r)
}

func (rp *replayer) rename(n *pg.RenameStmt) {
	switch {
	case isFuncType(n.RenameType):
		if fo := rp.findFunc(n.Object.GetObjectWithArgs()); fo != nil {
			rp.moveFunc(fo, qname{fo.schema, n.Newname})
		}
	case isRelType(n.RenameType) && n.Relation != nil:
		from := rp.existingRel(rangeVarName(n.Relation))
		rp.moveRel(from, qname{from.schema, n.Newname})
	}
}

func (rp *replayer) setSchema(n *pg.AlterObjectSchemaStmt) {
	switch {
	case isFuncType(n.ObjectType):
		if fo := rp.findFunc(n.Object.GetObjectWithArgs()); fo != nil {
			rp.moveFunc(fo, qname{n.Newschema, fo.name})
		}
	case isRelType(n.ObjectType) && n.Relation != nil:
		from := rp.existingRel(rangeVarName(n.Relation))
		rp.moveRel(from, qname{n.Newschema, from.name})
	}
}

func (rp *replayer) drop(n *pg.DropStmt) {
	for _, o := range n.Objects {
		switch {
		case isFuncType(n.RemoveType):
			if fo := rp.findFunc(o.GetObjectWithArgs()); fo != nil {
				rp.cat.removeFunc(fo)
			}
		case isRelType(n.RemoveType):
			l := o.GetList()
			if l == nil {
				continue
			}
			q := rp.existingRel(lastTwo(strs(l.Items)))
			if r := rp.cat.rels[q]; r != nil {
				rp.cat.removeRel(r)
			}
			rp.removeRoots(func(r *root) bool { return r.table == q })
			out := rp.cat.triggers[:0]
			for _, t := range rp.cat.triggers {
				if t.table != q {
					out = append(out, t)
				}
			}
			rp.cat.triggers = out
		case n.RemoveType == pg.ObjectType_OBJECT_INDEX:
			if l := o.GetList(); l != nil {
				q := lastTwo(strs(l.Items))
				rp.removeRoots(func(r *root) bool {
					return r.kind == rootIndex && r.name == q.name && (q.schema == "" || r.table.schema == q.schema)
				})
			}
		case n.RemoveType == pg.ObjectType_OBJECT_TRIGGER:
			if l := o.GetList(); l != nil {
				names := strs(l.Items)
				if len(names) >= 2 {
					table := rp.existingRel(lastTwo(names[:len(names)-1]))
					rp.dropTrigger(table, names[len(names)-1])
				}
			}
		}
	}
}
