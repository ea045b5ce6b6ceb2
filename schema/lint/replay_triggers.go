package lint

// Triggers: CREATE TRIGGER and dropping one.

import (
	pg "github.com/pganalyze/pg_query_go/v6"
)

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
