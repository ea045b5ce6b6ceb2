package lint

// Types and domains: CREATE DOMAIN, ALTER DOMAIN, and CREATE TYPE,
// AGGREGATE and OPERATOR (DefineStmt).

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

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
