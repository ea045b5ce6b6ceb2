package lint

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// walk calls fn for every message in the parse tree under m, parents first.
func walk(m proto.Message, fn func(proto.Message)) {
	if m == nil {
		return
	}
	walkMsg(m.ProtoReflect(), fn)
}

func walkMsg(m protoreflect.Message, fn func(proto.Message)) {
	if !m.IsValid() {
		return
	}
	fn(m.Interface())
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkMsg(l.Get(i).Message(), fn)
			}
		case fd.IsMap():
		default:
			walkMsg(v.Message(), fn)
		}
		return true
	})
}

// refKind is what a name in SQL refers to.
type refKind int

const (
	refFunc refKind = iota
	refRel
	refType
	refOp
	refRowtype // %ROWTYPE: a table, view or composite type
)

func (k refKind) String() string {
	switch k {
	case refFunc:
		return "function"
	case refRel:
		return "relation"
	case refType:
		return "type"
	case refOp:
		return "operator"
	case refRowtype:
		return "row type"
	}
	return "object"
}

// ref is one name used by a body or an expression.
type ref struct {
	kind refKind
	qname
	nargs   int  // functions and operators: number of arguments; -1 unknown
	off     int  // offset in the owner's text; -1 unknown
	literal bool // came from a string literal ('s'::regclass, nextval('s'))
	seq     bool // the literal names a sequence (nextval and friends)
	creates bool // the relation a CREATE TABLE/VIEW/SEQUENCE/... creates
	// swallowed: inside a PL/pgSQL block whose EXCEPTION handler (WHEN
	// others, undefined_function, ...) catches the error of a missing name.
	swallowed bool
}

// collector gathers the names an SQL parse tree uses.
type collector struct {
	refs  []ref
	ctes  map[string]bool // WITH names: not relations
	temps map[string]bool // temporary tables the code creates itself
	// setPath is a search_path the code sets itself (SET search_path or
	// set_config('search_path', ...) with constants); nil if none.
	setPath []string
	// off maps a parse-tree location to an offset in the owner's text.
	off func(loc int32) int
	// creating holds the RangeVars CREATE statements create (walk visits
	// the statement before its RangeVar).
	creating map[*pg.RangeVar]bool
	swallow  bool // refs added now are swallowed (see ref)
}

func newCollector(off func(int32) int) *collector {
	return &collector{ctes: map[string]bool{}, temps: map[string]bool{}, off: off, creating: map[*pg.RangeVar]bool{}}
}

func (c *collector) at(loc int32) int {
	if loc < 0 || c.off == nil {
		return -1
	}
	return c.off(loc)
}

func (c *collector) add(r ref) {
	r.swallowed = r.swallowed || c.swallow
	c.refs = append(c.refs, r)
}

// regKinds are the reg* types whose input resolves a name with the
// search_path in force when the literal is parsed.
var regKinds = map[string]refKind{
	"regclass": refRel, "regproc": refFunc, "regprocedure": refFunc,
	"regtype": refType, "regoper": refOp, "regoperator": refOp,
}

// seqFuncs take a sequence name as text (resolved like regclass).
var seqFuncs = map[string]bool{"nextval": true, "currval": true, "setval": true}

func (c *collector) collect(m proto.Message) {
	walk(m, func(x proto.Message) {
		switch n := x.(type) {
		case *pg.FuncCall:
			q := lastTwo(strs(n.Funcname))
			nargs := len(n.Args)
			if n.FuncVariadic {
				nargs = -1
			}
			c.add(ref{kind: refFunc, qname: q, nargs: nargs, off: c.at(n.Location)})
			if seqFuncs[q.name] && (q.schema == "" || q.schema == "pg_catalog") && len(n.Args) > 0 {
				c.literalRef(n.Args[0], refRel, true)
			}
			if q.name == "set_config" && (q.schema == "" || q.schema == "pg_catalog") && len(n.Args) >= 2 {
				name, ok1 := constString(n.Args[0])
				val, ok2 := constString(n.Args[1])
				if ok1 && ok2 && name == "search_path" {
					c.setPath = parsePathList(val)
				}
			}
		case *pg.VariableSetStmt:
			if n.Name == "search_path" && n.Kind == pg.VariableSetKind_VAR_SET_VALUE {
				c.setPath = pathFromArgs(n.Args)
			}
		case *pg.CreateStmt:
			c.creating[n.Relation] = true
		case *pg.CreateTableAsStmt:
			if n.Into != nil {
				c.creating[n.Into.Rel] = true
			}
		case *pg.ViewStmt:
			c.creating[n.View] = true
		case *pg.CreateSeqStmt:
			c.creating[n.Sequence] = true
		case *pg.RangeVar:
			if n.Relpersistence == "t" {
				c.temps[n.Relname] = true
				return
			}
			c.add(ref{kind: refRel, qname: rangeVarName(n), off: c.at(n.Location), creates: c.creating[n]})
		case *pg.TypeName:
			if n.PctType || len(n.Names) == 0 {
				return
			}
			c.add(ref{kind: refType, qname: lastTwo(strs(n.Names)), off: c.at(n.Location)})
		case *pg.A_Expr:
			switch n.Kind {
			case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN,
				pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
				return
			}
			nargs := 2
			if n.Lexpr == nil {
				nargs = 1
			}
			c.add(ref{kind: refOp, qname: lastTwo(strs(n.Name)), nargs: nargs, off: c.at(n.Location)})
		case *pg.SubLink:
			if len(n.OperName) > 0 {
				c.add(ref{kind: refOp, qname: lastTwo(strs(n.OperName)), nargs: 2, off: c.at(n.Location)})
			}
		case *pg.TypeCast:
			if n.TypeName != nil {
				tq := lastTwo(strs(n.TypeName.Names))
				if k, ok := regKinds[tq.name]; ok && (tq.schema == "" || tq.schema == "pg_catalog") && len(n.TypeName.ArrayBounds) == 0 {
					c.literalRef(n.Arg, k, false)
				}
			}
		case *pg.CommonTableExpr:
			c.ctes[n.Ctename] = true
		case *pg.IntoClause:
			if n.Rel != nil && n.Rel.Relpersistence == "t" {
				c.temps[n.Rel.Relname] = true
			}
		}
	})
}

// literalRef records the name inside a string constant cast to a reg* type
// (or passed to nextval and friends).
func (c *collector) literalRef(arg *pg.Node, kind refKind, seq bool) {
	ac := arg.GetAConst()
	if ac == nil || ac.GetSval() == nil {
		return
	}
	text := ac.GetSval().Sval
	if kind == refFunc || kind == refOp {
		// regprocedure/regoperator literals carry an argument list.
		for i := 0; i < len(text); i++ {
			if text[i] == '(' {
				text = text[:i]
				break
			}
		}
	}
	var q qname
	if kind == refOp {
		q = qname{name: text}
		for i := len(text) - 1; i >= 0; i-- {
			if text[i] == '.' {
				q = qname{schema: text[:i], name: text[i+1:]}
				break
			}
		}
	} else {
		parts, ok := splitQualified(text)
		if !ok {
			return
		}
		q = lastTwo(parts)
	}
	off := c.at(ac.Location)
	if off >= 0 {
		off++ // inside the quote
	}
	c.add(ref{kind: kind, qname: q, nargs: -1, off: off, literal: true, seq: seq})
}

// result returns the references, without relations that are really WITH
// queries or temporary tables of the code itself.
func (c *collector) result() []ref {
	out := c.refs[:0]
	for _, r := range c.refs {
		if r.kind == refRel && r.schema == "" && (c.ctes[r.name] || c.temps[r.name]) {
			continue
		}
		if r.kind == refRel && r.schema == "pg_temp" {
			continue
		}
		out = append(out, r)
	}
	return out
}
