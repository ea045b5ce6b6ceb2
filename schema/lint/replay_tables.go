package lint

// Tables, constraints, defaults, indexes: CREATE TABLE, ALTER TABLE,
// CREATE INDEX, CREATE TABLE AS / MATERIALIZED VIEW, CREATE STATISTICS, and
// the roots (expressions the server evaluates) they add.

import (
	"fmt"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
)

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
