package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Stored definitions come back from the server as deparsed text, and the
// deparser's output changes between majors (redundant qualification,
// SQL-syntax function calls, where array casts are printed, ...). They are
// compared as parse trees instead: parsed with pg_query (the PG 17 parser
// accepts what 13-17 print), locations removed, and the rewrites below
// applied to both sides. Each rewrite maps two spellings of the same meaning
// to one form; none drops a value, an operator, a type or a name that can
// change what the definition does. pg_query fingerprints are not used: they
// ignore constants, so 'a' and 'b' would compare equal.

// errNoTree is returned when the parse result does not have the expected
// shape (for example a definition that parses to two statements).
var errNoTree = errors.New("unexpected parse tree")

// parseStmt parses sql and returns its only statement as a generic tree.
func parseStmt(sql string) (map[string]any, error) {
	js, err := pg_query.ParseToJSON(sql)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	var res struct {
		Stmts []struct {
			Stmt map[string]any `json:"stmt"`
		} `json:"stmts"`
	}
	if err := dec.Decode(&res); err != nil {
		return nil, err
	}
	if len(res.Stmts) != 1 || res.Stmts[0].Stmt == nil {
		return nil, errNoTree
	}
	return res.Stmts[0].Stmt, nil
}

// canonJSON renders a normalised tree; encoding/json sorts map keys, so
// equal trees give equal strings.
func canonJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// path walks nested maps and lists: a string step indexes a map, an int
// step a list. It returns nil when the shape does not match.
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// qualifiedNameKeys hold name lists (types, functions, operators, operator
// classes, collations) whose leading "pg_catalog" is dropped: with
// search_path = ” the server prints pg_catalog objects unqualified and
// every other object qualified, while the parser adds pg_catalog to
// SQL-syntax constructs (SUBSTRING(... FROM ...), varchar, ...). Both
// spellings name the same object, so nothing real is lost.
var qualifiedNameKeys = map[string]bool{"names": true, "funcname": true, "name": true, "opclass": true, "collname": true}

// normalize removes locations and applies the rewrites, bottom-up.
func normalize(v any) any {
	switch n := v.(type) {
	case map[string]any:
		for k, child := range n {
			switch k {
			case "location", "stmt_location", "stmt_len":
				delete(n, k)
				continue
			}
			n[k] = normalize(child)
			if qualifiedNameKeys[k] {
				n[k] = dropPgCatalog(n[k])
			}
		}
		if fc, ok := n["FuncCall"].(map[string]any); ok {
			// COERCE_SQL_SYNTAX vs COERCE_EXPLICIT_CALL only says how to
			// print the call: PG 16+ prints SUBSTRING(x FROM 1 FOR 3)
			// where 13 prints "substring"(x, 1, 3), the same function
			// with the same arguments.
			delete(fc, "funcformat")
		}
		if fp, ok := n["FunctionParameter"].(map[string]any); ok {
			// An argument without a mode is IN; PG 14+ prints "IN"
			// explicitly for procedure arguments.
			if fp["mode"] == "FUNC_PARAM_DEFAULT" {
				fp["mode"] = "FUNC_PARAM_IN"
			}
		}
		if tc, ok := n["TypeCast"].(map[string]any); ok {
			if arr := distributeArrayCast(tc); arr != nil {
				return arr
			}
		}
		return n
	case []any:
		for i := range n {
			n[i] = normalize(n[i])
		}
		return n
	}
	return v
}

func dropPgCatalog(v any) any {
	l, ok := v.([]any)
	if !ok || len(l) < 2 {
		return v
	}
	if path(l[0], "String", "sval") == "pg_catalog" {
		return l[1:]
	}
	return v
}

// distributeArrayCast rewrites (ARRAY[a, b])::t[] as ARRAY[a::t, b::t].
// PG 13 stores `x IN ('a', 'b')` on a varchar column as an array of
// varchar cast to text[]; replaying that text on PG 14+ stores an array of
// elements each cast to text. An array cast is the element cast applied to
// each element, so both mean the same.
func distributeArrayCast(tc map[string]any) any {
	arr, ok := path(tc, "arg", "A_ArrayExpr").(map[string]any)
	if !ok {
		return nil
	}
	tn, ok := tc["typeName"].(map[string]any)
	if !ok {
		return nil
	}
	bounds, _ := tn["arrayBounds"].([]any)
	if len(bounds) != 1 {
		return nil
	}
	elemType := make(map[string]any, len(tn))
	for k, v := range tn {
		if k != "arrayBounds" {
			elemType[k] = v
		}
	}
	elems, _ := arr["elements"].([]any)
	out := make([]any, len(elems))
	for i, e := range elems {
		out[i] = map[string]any{"TypeCast": map[string]any{"arg": e, "typeName": deepCopy(elemType)}}
	}
	return map[string]any{"A_ArrayExpr": map[string]any{"elements": out}}
}

func deepCopy(v any) any {
	switch n := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(n))
		for k, c := range n {
			m[k] = deepCopy(c)
		}
		return m
	case []any:
		l := make([]any, len(n))
		for i, c := range n {
			l[i] = deepCopy(c)
		}
		return l
	}
	return v
}

// unqualifySingleRelation drops the relation name from column references
// of the top-level SELECT of a view when its FROM has exactly one item:
// PG 16+ prints `SELECT id FROM app.orders o` where PG 13-15 print
// `SELECT o.id FROM app.orders o` (they kept placeholder OLD/NEW entries in
// the view's range table). With a single FROM item a reference qualified
// with its name and the bare column name mean the same column. Subqueries
// are left alone: every major qualifies inside them.
func unqualifySingleRelation(stmt map[string]any) {
	sel, ok := stmt["SelectStmt"].(map[string]any)
	if !ok {
		return
	}
	if op, _ := sel["op"].(string); op != "" && op != "SETOP_NONE" {
		return
	}
	from, _ := sel["fromClause"].([]any)
	if len(from) != 1 {
		return
	}
	var name string
	item, _ := from[0].(map[string]any)
	for kind, node := range item {
		switch kind {
		case "RangeVar":
			if a, ok := path(node, "alias", "aliasname").(string); ok {
				name = a
			} else if r, ok := path(node, "relname").(string); ok {
				name = r
			}
		case "RangeSubselect", "RangeFunction", "RangeTableFunc":
			name, _ = path(node, "alias", "aliasname").(string)
		}
	}
	if name == "" {
		return
	}
	for _, k := range []string{"targetList", "whereClause", "groupClause", "havingClause", "sortClause", "windowClause", "distinctClause"} {
		if c, ok := sel[k]; ok {
			stripQualifier(c, name)
		}
	}
}

// stripQualifier rewrites ColumnRef [name, col] to [col] in v, without
// entering subqueries. A whole-row reference (name.*) is left alone: a bare
// * means something else.
func stripQualifier(v any, name string) {
	switch n := v.(type) {
	case map[string]any:
		if cr, ok := n["ColumnRef"].(map[string]any); ok {
			if f, ok := cr["fields"].([]any); ok && len(f) == 2 && path(f[0], "String", "sval") == name &&
				path(f[1], "String", "sval") != nil {
				cr["fields"] = f[1:]
			}
			return
		}
		if sl, ok := n["SubLink"].(map[string]any); ok {
			stripQualifier(sl["testexpr"], name)
			return
		}
		for _, c := range n {
			stripQualifier(c, name)
		}
	case []any:
		for _, c := range n {
			stripQualifier(c, name)
		}
	}
}

// Canonical forms of the definition kinds the catalog returns. Each
// returns the normalised subtree as JSON.

func canonExpr(expr string) (string, error) {
	st, err := parseStmt("SELECT " + expr)
	if err != nil {
		return "", err
	}
	v := path(st, "SelectStmt", "targetList", 0, "ResTarget", "val")
	if v == nil {
		return "", errNoTree
	}
	return canonJSON(normalize(v)), nil
}

func canonQuery(query string) (string, error) {
	st, err := parseStmt(query)
	if err != nil {
		return "", err
	}
	st = normalize(st).(map[string]any)
	unqualifySingleRelation(st)
	return canonJSON(st), nil
}

// canonConstraint parses the output of pg_get_constraintdef. DEFERRABLE and
// NOT VALID are compared as their own attributes, so they are dropped from
// the tree here to report a change once.
func canonConstraint(def string) (string, error) {
	st, err := parseStmt("ALTER TABLE pgverify_t ADD CONSTRAINT pgverify_c " + def)
	if err != nil {
		return "", err
	}
	c, ok := path(st, "AlterTableStmt", "cmds", 0, "AlterTableCmd", "def", "Constraint").(map[string]any)
	if !ok {
		return "", errNoTree
	}
	for _, k := range []string{"deferrable", "initdeferred", "skip_validation", "initially_valid", "conname"} {
		delete(c, k)
	}
	return canonJSON(normalize(c)), nil
}

func canonTrigger(def string) (string, error) {
	st, err := parseStmt(def)
	if err != nil {
		return "", err
	}
	if _, ok := st["CreateTrigStmt"]; !ok {
		return "", errNoTree
	}
	return canonJSON(normalize(st)), nil
}

func canonRule(def string) (string, error) {
	st, err := parseStmt(def)
	if err != nil {
		return "", err
	}
	if _, ok := st["RuleStmt"]; !ok {
		return "", errNoTree
	}
	return canonJSON(normalize(st)), nil
}

func canonFuncArgs(args string) (string, error) {
	st, err := parseStmt("CREATE FUNCTION pgverify_f(" + args + ") RETURNS void LANGUAGE sql AS ''")
	if err != nil {
		return "", err
	}
	p := path(st, "CreateFunctionStmt", "parameters")
	return canonJSON(normalize(p)), nil
}

// canonSQLBody parses a SQL-standard body (BEGIN ATOMIC ... END or
// RETURN expr) as printed by pg_get_function_sqlbody.
func canonSQLBody(body string) (string, error) {
	st, err := parseStmt("CREATE FUNCTION pgverify_f() RETURNS void LANGUAGE sql " + body)
	if err != nil {
		return "", err
	}
	b := path(st, "CreateFunctionStmt", "sql_body")
	if b == nil {
		return "", errNoTree
	}
	return canonJSON(normalize(b)), nil
}

func canonPartKey(key string) (string, error) {
	st, err := parseStmt("CREATE TABLE pgverify_t () PARTITION BY " + key)
	if err != nil {
		return "", err
	}
	p := path(st, "CreateStmt", "partspec")
	if p == nil {
		return "", errNoTree
	}
	return canonJSON(normalize(p)), nil
}

func canonPartBound(bound string) (string, error) {
	st, err := parseStmt("CREATE TABLE pgverify_t PARTITION OF pgverify_p " + bound)
	if err != nil {
		return "", err
	}
	p := path(st, "CreateStmt", "partbound")
	if p == nil {
		return "", errNoTree
	}
	return canonJSON(normalize(p)), nil
}

// indexParts are the parts of an index definition compared one by one.
type indexParts struct {
	columns, include, predicate string
}

func canonIndex(def string) (indexParts, error) {
	st, err := parseStmt(def)
	if err != nil {
		return indexParts{}, err
	}
	ix, ok := st["IndexStmt"].(map[string]any)
	if !ok {
		return indexParts{}, errNoTree
	}
	ix = normalize(ix).(map[string]any)
	return indexParts{
		columns:   canonJSON(ix["indexParams"]),
		include:   canonJSON(ix["indexIncludingParams"]),
		predicate: canonJSON(ix["whereClause"]),
	}, nil
}

// indexColumnText cuts the key column list and the INCLUDE list out of a
// pg_get_indexdef result, for display; ok is false when it cannot.
func indexColumnText(def, method string) (cols, include string, ok bool) {
	at := strings.Index(def, " USING "+method+" (")
	if method == "" || at < 0 {
		return "", "", false
	}
	start := at + len(" USING "+method+" ")
	end := matchParen(def, start)
	if end < 0 {
		return "", "", false
	}
	cols = def[start+1 : end]
	rest := def[end+1:]
	if strings.HasPrefix(rest, " INCLUDE (") {
		s := end + 1 + len(" INCLUDE ")
		e := matchParen(def, s)
		if e < 0 {
			return "", "", false
		}
		include = def[s+1 : e]
	}
	return cols, include, true
}

// matchParen returns the index of the parenthesis closing the one at
// open, skipping quoted strings and identifiers, or -1.
func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\'', '"':
			q := s[i]
			for i++; i < len(s) && s[i] != q; i++ {
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// parseNote explains why a definition was compared as text.
func parseNote(side, objType, name, attr string, err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Sprintf("%s: %s of %s %s could not be parsed (%s); compared as exact text", side, attr, objType, name, msg)
}
