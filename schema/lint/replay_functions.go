package lint

// Functions: CREATE FUNCTION/PROCEDURE and ALTER FUNCTION.

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
)

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
