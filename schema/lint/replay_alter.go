package lint

// ALTER ... RENAME, ALTER ... SET SCHEMA and DROP of functions, relations,
// indexes and triggers.

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

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
