package lint

import (
	"strings"
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// qname is a schema-qualified name; schema "" means written without one.
type qname struct{ schema, name string }

func (q qname) String() string {
	if q.schema == "" {
		return quoteIdent(q.name)
	}
	return quoteIdent(q.schema) + "." + quoteIdent(q.name)
}

var (
	quoteMu    sync.Mutex
	quoteCache = map[string]bool{}
)

// quoteIdent quotes an identifier the way quote_ident() does: unless it is
// all lower-case letters, digits and underscores (not starting with a digit)
// and not a keyword other than an unreserved one. The keyword class comes
// from the real scanner.
func quoteIdent(s string) string {
	if s == "" {
		return `""`
	}
	plain := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	if plain {
		quoteMu.Lock()
		kw, ok := quoteCache[s]
		quoteMu.Unlock()
		if !ok {
			kw = isNonUnreservedKeyword(s)
			quoteMu.Lock()
			quoteCache[s] = kw
			quoteMu.Unlock()
		}
		if !kw {
			return s
		}
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func isNonUnreservedKeyword(s string) bool {
	res, err := pg.Scan(s)
	if err != nil || len(res.Tokens) != 1 {
		return true
	}
	k := res.Tokens[0].KeywordKind
	return k != pg.KeywordKind_NO_KEYWORD && k != pg.KeywordKind_UNRESERVED_KEYWORD
}

// strs returns the String values of a name list (funcname, names, ...).
func strs(ns []*pg.Node) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

// lastTwo splits a possibly qualified name list into schema and name
// (a database name in front, as in db.schema.name, is dropped).
func lastTwo(names []string) qname {
	switch len(names) {
	case 0:
		return qname{}
	case 1:
		return qname{name: names[0]}
	default:
		return qname{schema: names[len(names)-2], name: names[len(names)-1]}
	}
}

func rangeVarName(rv *pg.RangeVar) qname {
	if rv == nil {
		return qname{}
	}
	return qname{schema: rv.Schemaname, name: rv.Relname}
}

// splitQualified splits the text of a regclass-style literal such as
// 'public."My Seq"' into its identifiers, applying the input rules of
// regclass: unquoted parts are folded to lower case. ok is false for
// anything that is not a plain dotted name.
func splitQualified(s string) (parts []string, ok bool) {
	s = strings.TrimSpace(s)
	for len(s) > 0 {
		var part string
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(s); i++ {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i++
						continue
					}
					break
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false
			}
			part, s = b.String(), s[i+1:]
		} else {
			i := 0
			for i < len(s) && s[i] != '.' {
				c := s[i]
				if c == '"' || c == ' ' || c == '(' || c == ')' || c == ',' {
					return nil, false
				}
				i++
			}
			part, s = strings.ToLower(s[:i]), s[i:]
		}
		if part == "" {
			return nil, false
		}
		parts = append(parts, part)
		if len(s) == 0 {
			break
		}
		if s[0] != '.' {
			return nil, false
		}
		s = s[1:]
	}
	return parts, len(parts) > 0 && len(parts) <= 3
}

// sqlTypeNames maps pg_catalog type names to how format_type() prints them.
var sqlTypeNames = map[string]string{
	"int2": "smallint", "int4": "integer", "int8": "bigint",
	"float4": "real", "float8": "double precision", "bool": "boolean",
	"varchar": "character varying", "bpchar": "character",
	"timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
	"time": "time without time zone", "timetz": "time with time zone",
	"varbit": "bit varying",
}

// builtinTypeName prints a pg_catalog type name as format_type() does:
// SQL-standard spellings, and no quotes for names that are keywords
// (numeric, char, ...), since the grammar accepts them as type names.
func builtinTypeName(name string) string {
	if f, ok := sqlTypeNames[name]; ok {
		return f
	}
	if name == "char" {
		return `"char"` // unquoted, char means character(1)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
		}
	}
	return name
}

// formatTypeName prints a type name of a signature the way format_type()
// would in an identity argument list (no typmods). qualify returns the
// schema of an unqualified user-defined type, or "".
func formatTypeName(tn *pg.TypeName, qualify func(name string) string) string {
	if tn == nil {
		return ""
	}
	n := strs(tn.Names)
	var s string
	switch {
	case len(n) >= 2 && n[len(n)-2] == "pg_catalog":
		s = builtinTypeName(n[len(n)-1])
	case len(n) >= 2:
		s = lastTwo(n).String()
	case len(n) == 1:
		schema := ""
		if qualify != nil {
			schema = qualify(n[0])
		}
		if schema == "" {
			s = builtinTypeName(n[0])
		} else {
			s = qname{schema: schema, name: n[0]}.String()
		}
	}
	if tn.PctType {
		s += "%TYPE"
	}
	for range tn.ArrayBounds {
		s += "[]"
	}
	return s
}
