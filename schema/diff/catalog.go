package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Catalog is one database's schema as schema diff compares it.
type Catalog struct {
	Server Server
	// Side is "source" or "target", for notes.
	Side string
	// Objects by key ("<object type> <name>").
	Objects map[string]*Object
}

// Server identifies the server a catalog was read from.
type Server struct {
	Version    string `json:"version"`     // server_version, e.g. "16.4"
	VersionNum int    `json:"version_num"` // server_version_num, e.g. 160004
}

// Major is the major version, e.g. 16.
func (s Server) Major() int { return s.VersionNum / 10000 }

// Object is one catalog object.
type Object struct {
	Type string
	Name string
	// Parents are the keys of the objects this one belongs to (its schema,
	// table, parent partition, ...): when a parent is missing, its children
	// are not reported one by one.
	Parents []string
	Attrs   map[string]*value
}

func key(objType, name string) string { return objType + " " + name }

// Key is the object's key in Catalog.Objects.
func (o *Object) Key() string { return key(o.Type, o.Name) }

// value is one attribute as read. Two values with the same raw text are
// equal; only when they differ is the canonical form (a parse tree, for
// definitions) computed and compared, so unchanged definitions are never
// parsed.
type value struct {
	display *string // what people read; nil is NULL
	raw     string  // the catalog value as compact JSON
	// canonFn computes the canonical form; nil means raw is canonical.
	canonFn func() (string, error)
	done    bool
	canon   string
	err     error
	acl     []aclItem
	list    []string
}

// canonical returns the form compared when raw texts differ. When a
// definition cannot be parsed it returns the exact text and the error.
func (v *value) canonical() (string, error) {
	if v.canonFn == nil {
		return v.raw, nil
	}
	if !v.done {
		v.canon, v.err = v.canonFn()
		if v.err != nil {
			v.canon = "text:" + v.raw
		}
		v.done = true
	}
	return v.canon, v.err
}

type aclItem struct {
	grantee, grantor, privilege string
	grantable                   bool
}

// Read reads the catalog of the database conn is connected to, in one
// REPEATABLE READ, READ ONLY transaction with search_path = ” so that
// every name outside pg_catalog comes back schema-qualified.
func Read(ctx context.Context, conn *pgx.Conn, side string) (*Catalog, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("starting snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = ''"); err != nil {
		return nil, fmt.Errorf("setting search_path: %w", err)
	}
	cat := &Catalog{Side: side, Objects: map[string]*Object{}}
	if err := tx.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('server_version_num')::int").
		Scan(&cat.Server.Version, &cat.Server.VersionNum); err != nil {
		return nil, fmt.Errorf("reading server version: %w", err)
	}
	queries, err := renderQueries(featuresFor(cat.Server.VersionNum))
	if err != nil {
		return nil, err
	}
	for _, name := range queryFiles {
		if err := cat.load(ctx, tx, name, queries[name]); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("ending snapshot: %w", err)
	}
	return cat, nil
}

func (c *Catalog) load(ctx context.Context, tx pgx.Tx, file, query string) error {
	what := strings.TrimSuffix(file, ".sql")
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var o Object
		var attrs []byte
		if err := rows.Scan(&o.Type, &o.Name, &o.Parents, &attrs); err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
		if err := c.add(&o, attrs); err != nil {
			return fmt.Errorf("reading %s %s: %w", o.Type, o.Name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	return nil
}

func (c *Catalog) add(o *Object, attrsJSON []byte) error {
	spec, ok := kinds[o.Type]
	if !ok {
		return fmt.Errorf("unknown object type %q", o.Type)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(attrsJSON))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	o.Attrs = make(map[string]*value, len(spec.attrs))
	for _, a := range spec.attrs {
		r := raw[a.name]
		if len(r) == 0 {
			r = json.RawMessage("null")
		}
		v, err := newValue(a, r, raw)
		if err != nil {
			return fmt.Errorf("attribute %s: %w", a.name, err)
		}
		o.Attrs[a.name] = v
	}
	if o.Type == "index" {
		deriveIndexParts(o)
	}
	k := o.Key()
	if _, dup := c.Objects[k]; dup {
		// Names are unique per kind and container in PostgreSQL; keep both
		// rather than silently dropping one if that ever fails to hold.
		for i := 2; ; i++ {
			if _, taken := c.Objects[k+"#"+strconv.Itoa(i)]; !taken {
				o.Name += "#" + strconv.Itoa(i)
				k = o.Key()
				break
			}
		}
	}
	c.Objects[k] = o
	return nil
}

// newValue prepares one attribute: its display, its raw text and how to
// canonicalise it.
func newValue(a attrSpec, r json.RawMessage, all map[string]json.RawMessage) (*value, error) {
	v := &value{display: displayOf(r), raw: compact(r)}
	if isNull(r) {
		return v, nil
	}
	var s string
	_ = json.Unmarshal(r, &s)
	parsed := func(f func(string) (string, error)) {
		v.canonFn = func() (string, error) { return f(s) }
	}
	switch a.mode {
	case modeExpr:
		parsed(canonExpr)
	case modeQuery:
		parsed(canonQuery)
	case modeConstraint:
		parsed(canonConstraint)
	case modeTrigger:
		parsed(canonTrigger)
	case modeRule:
		parsed(canonRule)
	case modeFuncArgs:
		if s != "" {
			parsed(canonFuncArgs)
		}
	case modePartKey:
		parsed(canonPartKey)
	case modePartBound:
		parsed(canonPartBound)
	case modeBody:
		if compact(all["body_sql_standard"]) == "true" {
			parsed(canonSQLBody)
		}
	case modeACL:
		var items [][]any
		if err := json.Unmarshal(r, &items); err != nil {
			return nil, err
		}
		for _, it := range items {
			if len(it) != 4 {
				return nil, fmt.Errorf("malformed ACL item %v", it)
			}
			g, _ := it[3].(bool)
			v.acl = append(v.acl, aclItem{grantee: fmt.Sprint(it[0]), grantor: fmt.Sprint(it[1]), privilege: fmt.Sprint(it[2]), grantable: g})
		}
	case modeColumnOrder:
		if err := json.Unmarshal(r, &v.list); err != nil {
			return nil, err
		}
	case modePubTables:
		return pubTables(v, r)
	}
	return v, nil
}

// deriveIndexParts sets up the columns, include and predicate attributes
// of an index: displayed from its definition's text, compared as the parts
// of its parse tree. Should the text not split as expected, the whole
// definition stands in as the raw text, so a change is never missed.
func deriveIndexParts(o *Object) {
	def, method, pred := o.Attrs["definition"], o.Attrs["method"], o.Attrs["predicate"]
	defText, methodText := "", ""
	if def.display != nil {
		defText = *def.display
	}
	if method.display != nil {
		methodText = *method.display
	}
	cols, incl, ok := indexColumnText(defText, methodText)
	rawCols, rawIncl := cols, incl
	if !ok {
		rawCols, rawIncl = "definition:"+defText, "definition:"+defText
	}
	var once sync.Once
	var parts indexParts
	var perr error
	parse := func() { parts, perr = canonIndex(defText) }
	part := func(pick func(indexParts) string) func() (string, error) {
		return func() (string, error) {
			once.Do(parse)
			return pick(parts), perr
		}
	}
	o.Attrs["columns"] = &value{display: strPtr(cols), raw: rawCols,
		canonFn: part(func(p indexParts) string { return p.columns })}
	o.Attrs["include"] = &value{display: nilIfEmpty(incl), raw: rawIncl,
		canonFn: part(func(p indexParts) string { return p.include })}
	pred.canonFn = part(func(p indexParts) string { return p.predicate })
}

// pubTables prepares a publication's table list: each table with its row
// filter (compared as a parse tree) and column list.
func pubTables(v *value, r json.RawMessage) (*value, error) {
	var tables []struct {
		Table   string   `json:"table"`
		Filter  *string  `json:"filter"`
		Columns []string `json:"columns"`
	}
	if err := json.Unmarshal(r, &tables); err != nil {
		return nil, err
	}
	shown := make([]string, 0, len(tables))
	for _, t := range tables {
		s := t.Table
		if t.Filter != nil {
			s += " WHERE " + *t.Filter
		}
		if t.Columns != nil {
			s += " (" + strings.Join(t.Columns, ", ") + ")"
		}
		shown = append(shown, s)
	}
	v.display = strPtr(strings.Join(shown, ", "))
	v.canonFn = func() (string, error) {
		var canon []string
		var firstErr error
		for _, t := range tables {
			c := []any{t.Table, nil, t.Columns}
			if t.Filter != nil {
				fc, err := canonExpr(*t.Filter)
				if err != nil {
					fc = "text:" + *t.Filter
					if firstErr == nil {
						firstErr = err
					}
				}
				c[1] = fc
			}
			canon = append(canon, canonJSON(c))
		}
		sort.Strings(canon)
		return canonJSON(canon), firstErr
	}
	return v, nil
}

func isNull(r json.RawMessage) bool { return len(r) == 0 || string(r) == "null" }

func compact(r json.RawMessage) string {
	if isNull(r) {
		return "null"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, r); err != nil {
		return string(r)
	}
	return b.String()
}

// displayOf renders a catalog value for people: strings as they are,
// lists joined with ", ", NULL as nil.
func displayOf(r json.RawMessage) *string {
	if isNull(r) {
		return nil
	}
	var s string
	if json.Unmarshal(r, &s) == nil {
		return &s
	}
	var list []json.RawMessage
	if json.Unmarshal(r, &list) == nil {
		parts := make([]string, len(list))
		for i, e := range list {
			if d := displayOf(e); d != nil {
				parts[i] = *d
			} else {
				parts[i] = "NULL"
			}
		}
		return strPtr(strings.Join(parts, ", "))
	}
	return strPtr(compact(r))
}

func strPtr(s string) *string { return &s }

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
