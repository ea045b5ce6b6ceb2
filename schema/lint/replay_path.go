package lint

// search_path and SET: the script's own search_path (SET, set_config) and
// the names it resolves.

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

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
