package proxy

import (
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// effects is what one query string does to session state.
type effects struct {
	sets      []setEffect // in order
	prepares  []prepareEffect
	listen    []string // channels; "*" in unlisten means all
	unlisten  []string
	temp      bool
	discard   pg_query.DiscardMode
	advisory  int // session advisory locks taken (+) or released (-)
	unlockAll bool
	holds     []string // WITH HOLD cursors declared
	closes    []string // cursors closed; "" means all
	none      bool     // nothing of interest
}

type setEffect struct {
	name  string // lower case; "" with resetAll
	stmt  string // statement text to replay; "" means RESET
	reset bool
	all   bool // RESET ALL
}

type prepareEffect struct {
	name       string
	stmt       string // PREPARE text; "" means DEALLOCATE
	deallocAll bool
}

// keywords a statement must contain (case-insensitively) for the parser to be
// worth calling: anything without them cannot change session state we carry.
var keywords = []string{"set", "prepare", "deallocate", "listen", "temp", "advisory", "hold", "discard", "close"}

// mayMatter scans q once, trying the keywords that start with each letter.
func mayMatter(q string) bool {
	for i := 0; i < len(q); i++ {
		c := q[i] | 0x20 // ASCII lower case; other bytes never match
		for _, k := range keywords {
			if k[0] == c && len(q)-i >= len(k) && containsFold(q[i:i+len(k)], k) {
				return true
			}
		}
	}
	return false
}

// containsFold is an allocation-free ASCII case-insensitive strings.Contains
// for a lower-case needle.
func containsFold(s, lower string) bool {
	n := len(lower)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// analyze parses q with the PostgreSQL parser and lists its session effects.
// A query that does not parse changes nothing here (the server rejects it too).
func analyze(q string) effects {
	if !mayMatter(q) {
		return effects{none: true}
	}
	tree, err := pg_query.Parse(q)
	if err != nil {
		return effects{none: true}
	}
	var e effects
	for _, raw := range tree.Stmts {
		text := stmtText(q, raw)
		n := raw.Stmt
		switch {
		case n.GetVariableSetStmt() != nil:
			v := n.GetVariableSetStmt()
			if v.IsLocal {
				continue
			}
			name := strings.ToLower(v.Name)
			switch v.Kind {
			case pg_query.VariableSetKind_VAR_RESET_ALL:
				e.sets = append(e.sets, setEffect{all: true})
			case pg_query.VariableSetKind_VAR_RESET:
				e.sets = append(e.sets, setEffect{name: name, reset: true})
			case pg_query.VariableSetKind_VAR_SET_MULTI:
				// SET TRANSACTION ... is transaction-scoped; SET SESSION
				// CHARACTERISTICS AS TRANSACTION ... is a session default.
				if name == "session characteristics" {
					e.sets = append(e.sets, setEffect{name: name, stmt: text})
				}
			default:
				e.sets = append(e.sets, setEffect{name: name, stmt: text})
			}
		case n.GetPrepareStmt() != nil:
			e.prepares = append(e.prepares, prepareEffect{name: n.GetPrepareStmt().Name, stmt: text})
		case n.GetDeallocateStmt() != nil:
			d := n.GetDeallocateStmt()
			e.prepares = append(e.prepares, prepareEffect{name: d.Name, deallocAll: d.Isall || d.Name == ""})
		case n.GetListenStmt() != nil:
			e.listen = append(e.listen, n.GetListenStmt().Conditionname)
		case n.GetUnlistenStmt() != nil:
			c := n.GetUnlistenStmt().Conditionname
			if c == "" {
				c = "*"
			}
			e.unlisten = append(e.unlisten, c)
		case n.GetDiscardStmt() != nil:
			e.discard = n.GetDiscardStmt().Target
		case n.GetDeclareCursorStmt() != nil:
			d := n.GetDeclareCursorStmt()
			if d.Options&0x0020 != 0 { // CURSOR_OPT_HOLD
				e.holds = append(e.holds, d.Portalname)
			}
		case n.GetClosePortalStmt() != nil:
			e.closes = append(e.closes, n.GetClosePortalStmt().Portalname)
		}
		walk(n.ProtoReflect(), &e)
	}
	e.none = len(e.sets) == 0 && len(e.prepares) == 0 && len(e.listen) == 0 && len(e.unlisten) == 0 &&
		!e.temp && e.discard == 0 && e.advisory == 0 && !e.unlockAll && len(e.holds) == 0 && len(e.closes) == 0
	return e
}

// walk finds temporary relations created and session advisory lock calls
// anywhere in a statement.
func walk(m protoreflect.Message, e *effects) {
	switch v := m.Interface().(type) {
	case *pg_query.RangeVar:
		if v.Relpersistence == "t" || strings.EqualFold(v.Schemaname, "pg_temp") {
			e.temp = true
		}
	case *pg_query.FuncCall:
		if len(v.Funcname) > 0 {
			switch strings.ToLower(v.Funcname[len(v.Funcname)-1].GetString_().GetSval()) {
			case "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared":
				e.advisory++
			case "pg_advisory_unlock", "pg_advisory_unlock_shared":
				e.advisory--
			case "pg_advisory_unlock_all":
				e.unlockAll = true
			case "set_config":
				if se, ok := setConfig(v.Args); ok {
					e.sets = append(e.sets, se)
				}
			}
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walk(l.Get(i).Message(), e)
			}
		case fd.Message() != nil && !fd.IsMap():
			walk(v.Message(), e)
		}
		return true
	})
}

// setConfig reads set_config('name', 'value', false) with constant
// arguments as a session SET; is_local true is transaction-scoped, and
// non-constant arguments cannot be replayed (not carried).
func setConfig(args []*pg_query.Node) (setEffect, bool) {
	if len(args) != 3 {
		return setEffect{}, false
	}
	name, ok1 := constString(args[0])
	value, ok2 := constString(args[1])
	if !ok1 || !ok2 {
		return setEffect{}, false
	}
	local := true
	if c := args[2].GetAConst(); c != nil {
		if b := c.GetBoolval(); b != nil {
			local = b.Boolval
		} else if sv := c.GetSval(); sv != nil {
			switch strings.ToLower(sv.Sval) {
			case "f", "false", "off", "no", "n", "0":
				local = false
			}
		}
	}
	if local {
		return setEffect{}, false
	}
	return setEffect{name: strings.ToLower(name), stmt: "SELECT pg_catalog.set_config(" + quoteLiteral(name) + ", " + quoteLiteral(value) + ", false)"}, true
}

func constString(n *pg_query.Node) (string, bool) {
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	if c := n.GetAConst(); c != nil {
		if sv := c.GetSval(); sv != nil {
			return sv.Sval, true
		}
	}
	return "", false
}

// quoteLiteral quotes s as a standard SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func stmtText(q string, raw *pg_query.RawStmt) string {
	start := int(raw.StmtLocation)
	end := len(q)
	if raw.StmtLen > 0 {
		end = start + int(raw.StmtLen)
	}
	if start < 0 || start > len(q) || end > len(q) || start > end {
		return strings.TrimSpace(q)
	}
	return strings.TrimSpace(q[start:end])
}

// sessionState is what a session carries to a new backend and what stops it
// from moving. It is owned by the session's client reader.
type sessionState struct {
	settings map[string]string // name → SET statement
	order    []string          // first-set order of settings
	prepared map[string]string // SQL PREPAREs: name → statement
	parses   map[string][]byte // protocol Parse messages of named statements
	listens  map[string]bool
	temp     bool
	advisory int
	holds    map[string]bool

	// pending holds the effects seen inside the current transaction; they
	// apply when it commits (SET, PREPARE of a rolled-back transaction do not
	// persist... PREPARE does, but a failed one does not exist).
	pending []effects
}

func newSessionState() *sessionState {
	return &sessionState{settings: map[string]string{}, prepared: map[string]string{}, parses: map[string][]byte{},
		listens: map[string]bool{}, holds: map[string]bool{}}
}

// apply records effects that took place.
func (st *sessionState) apply(e effects) {
	for _, s := range e.sets {
		switch {
		case s.all:
			st.settings, st.order = map[string]string{}, nil
		case s.reset:
			delete(st.settings, s.name)
		default:
			if _, ok := st.settings[s.name]; !ok {
				st.order = append(st.order, s.name)
			}
			st.settings[s.name] = s.stmt
		}
	}
	for _, p := range e.prepares {
		switch {
		case p.deallocAll:
			st.prepared, st.parses = map[string]string{}, map[string][]byte{}
		case p.stmt == "":
			delete(st.prepared, p.name)
		default:
			st.prepared[p.name] = p.stmt
		}
	}
	for _, c := range e.listen {
		st.listens[c] = true
	}
	for _, c := range e.unlisten {
		if c == "*" {
			st.listens = map[string]bool{}
		} else {
			delete(st.listens, c)
		}
	}
	if e.temp {
		st.temp = true
	}
	st.advisory += e.advisory
	if st.advisory < 0 || e.unlockAll {
		st.advisory = 0
	}
	for _, h := range e.holds {
		st.holds[h] = true
	}
	for _, c := range e.closes {
		if c == "" {
			st.holds = map[string]bool{}
		} else {
			delete(st.holds, c)
		}
	}
	switch e.discard {
	case pg_query.DiscardMode_DISCARD_ALL:
		*st = *newSessionState()
	case pg_query.DiscardMode_DISCARD_TEMP:
		st.temp = false
	}
}

// unmovable names the state that cannot follow the session to another
// backend, or "" when it can move.
func (st *sessionState) unmovable() string {
	var why []string
	if len(st.listens) > 0 {
		ch := make([]string, 0, len(st.listens))
		for c := range st.listens {
			ch = append(ch, `"`+c+`"`)
		}
		sort.Strings(ch)
		why = append(why, "LISTEN on "+strings.Join(ch, ", "))
	}
	if st.temp {
		why = append(why, "temporary tables")
	}
	if st.advisory > 0 {
		why = append(why, "session advisory locks")
	}
	if len(st.holds) > 0 {
		why = append(why, "WITH HOLD cursors")
	}
	return strings.Join(why, ", ")
}

// replaySQL is the simple-query text that restores settings and SQL
// prepared statements on a new backend.
func (st *sessionState) replaySQL() string {
	var b strings.Builder
	for _, n := range st.order {
		if s, ok := st.settings[n]; ok {
			b.WriteString(s)
			b.WriteString(";\n")
		}
	}
	names := make([]string, 0, len(st.prepared))
	for n := range st.prepared {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(st.prepared[n])
		b.WriteString(";\n")
	}
	return b.String()
}
