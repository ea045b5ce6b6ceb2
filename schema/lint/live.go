package lint

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	pg "github.com/pganalyze/pg_query_go/v6"
)

var (
	//go:embed sql/functions.sql
	functionsSQL string
	//go:embed sql/objects.sql
	objectsSQL string
	//go:embed sql/roots.sql
	rootsSQL string
	//go:embed sql/views.sql
	viewsSQL string
	//go:embed sql/transitions.sql
	transitionsSQL string
)

// LintDatabase lints a live database: function bodies and settings from
// pg_proc, roots from pg_constraint, pg_attrdef, pg_index, pg_trigger
// (ENABLE ALWAYS/REPLICA), materialized views and extended statistics via
// pg_depend, and pg_catalog's names from the server itself. It reads
// everything in one REPEATABLE READ READ ONLY transaction and writes
// nothing. opts.PGVersion is ignored: the server's own catalog is used.
func LintDatabase(ctx context.Context, conn *pgx.Conn, opts Options) (*Result, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	return LintTx(ctx, tx, opts)
}

// LintTx is LintDatabase inside a transaction the caller holds (for a
// snapshot shared with other checks). It sets search_path to pg_catalog for
// the rest of that transaction (SET LOCAL), so names print qualified.
func LintTx(ctx context.Context, tx pgx.Tx, opts Options) (*Result, error) {
	var versionNum int
	var db string
	if err := tx.QueryRow(ctx, `SELECT pg_catalog.set_config('search_path', 'pg_catalog', true) IS NOT NULL,
		pg_catalog.current_setting('server_version_num')::pg_catalog.int4, pg_catalog.current_database()::pg_catalog.text`).
		Scan(new(bool), &versionNum, &db); err != nil {
		return nil, fmt.Errorf("reading server version: %w", err)
	}
	lines, err := ReadBuiltins(ctx, tx)
	if err != nil {
		return nil, err
	}
	bi := builtinsFromLines(lines)
	bi.major = versionNum / 10000
	cat := newCatalog(bi)
	cat.live = true
	l := &liveLoader{cat: cat, funcs: map[int64]*funcObj{}, rels: map[int64]*relObj{}}
	if err := l.loadFunctions(ctx, tx); err != nil {
		return nil, err
	}
	if err := l.loadObjects(ctx, tx); err != nil {
		return nil, err
	}
	if err := l.loadViews(ctx, tx); err != nil {
		return nil, err
	}
	if err := l.loadRoots(ctx, tx); err != nil {
		return nil, err
	}
	if err := l.loadTransitions(ctx, tx); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	findings, a, err := cat.analyze(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Mode: "database", PGVersion: bi.major, Inputs: []string{db}}
	finish(res, cat, a, findings, opts, map[string]int{})
	return res, nil
}

type liveLoader struct {
	cat   *catalog
	funcs map[int64]*funcObj
	rels  map[int64]*relObj
}

func (l *liveLoader) loadFunctions(ctx context.Context, q Querier) error {
	rows, err := q.Query(ctx, functionsSQL)
	if err != nil {
		return fmt.Errorf("reading functions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid               int64
			schema, name      string
			ident, kind, lang string
			secdef, variadic  bool
			config            []string
			nargs, ndefaults  int
			def, prosrc, ext  *string
		)
		if err := rows.Scan(&oid, &schema, &name, &ident, &kind, &lang, &secdef, &config, &nargs, &ndefaults, &variadic, &def, &prosrc, &ext); err != nil {
			return fmt.Errorf("reading functions: %w", err)
		}
		f := &funcObj{
			qname: qname{schema, name}, ident: ident, kind: kind[0], procedure: kind == "p",
			lang: lang, secdef: secdef, minArgs: nargs - ndefaults, maxArgs: nargs,
			bodyTok: -1, loc: bodyLocator{bodyOff: -1},
		}
		if variadic {
			f.maxArgs = -1
		}
		if ext != nil {
			f.extension = *ext
		}
		for _, c := range config {
			if v, ok := strings.CutPrefix(c, "search_path="); ok {
				f.pinned, f.path = true, parsePathList(v)
			}
		}
		// regprocedure text is valid SQL for the identity; parse it for
		// --fix, and print it the way file mode prints signatures.
		if t, err := pg.Parse("ALTER FUNCTION " + ident + " RESET ALL"); err == nil && len(t.Stmts) == 1 {
			if af := t.Stmts[0].Stmt.GetAlterFunctionStmt(); af != nil {
				f.objArgs = af.Func
				var args []string
				for _, a := range af.Func.Objargs {
					args = append(args, formatTypeName(a.GetTypeName(), nil))
				}
				f.ident = f.qname.String() + "(" + strings.Join(args, ", ") + ")"
			}
		}
		if def != nil {
			l.setDefinition(f, *def, prosrc)
		}
		l.funcs[oid] = f
		l.cat.addFunc(f)
	}
	return rows.Err()
}

// setDefinition attaches pg_get_functiondef() output: BEGIN ATOMIC bodies
// come from its parse tree, string bodies are located in it for positions.
func (l *liveLoader) setDefinition(f *funcObj, def string, prosrc *string) {
	f.def = def
	f.ignore = parseIgnores(def)
	tree, err := pg.Parse(def)
	if err == nil && len(tree.Stmts) == 1 {
		if cf := tree.Stmts[0].Stmt.GetCreateFunctionStmt(); cf != nil && cf.SqlBody != nil {
			f.atomic = cf.SqlBody
			f.atomicBase = 0
			return
		}
	}
	if prosrc == nil {
		return
	}
	f.body = *prosrc
	f.bodyTok, f.bodyLit = locateBody(def, f.body)
	if f.bodyTok >= 0 {
		f.loc = newBodyLocator(f.body, f.bodyToDef(0))
	}
}

func (l *liveLoader) loadObjects(ctx context.Context, q Querier) error {
	rows, err := q.Query(ctx, objectsSQL)
	if err != nil {
		return fmt.Errorf("reading relations, types and operators: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, schema, name, sub string
		var oid, fn int64
		if err := rows.Scan(&kind, &oid, &schema, &name, &sub, &fn); err != nil {
			return fmt.Errorf("reading relations, types and operators: %w", err)
		}
		q := qname{schema, name}
		switch kind {
		case "r":
			r := &relObj{qname: q, kind: sub[0]}
			l.rels[oid] = r
			l.cat.addRel(r)
		case "t":
			l.cat.addType(&typeObj{qname: q, kind: sub[0]})
		case "o":
			o := &opObj{qname: q, nargs: 2, fnObj: l.funcs[fn]}
			if sub == "1" {
				o.nargs = 1
			}
			l.cat.addOp(o)
		}
	}
	return rows.Err()
}

func (l *liveLoader) dep(kind string, oid int64) *dep {
	if kind == "f" {
		if f := l.funcs[oid]; f != nil {
			return &dep{fn: f}
		}
		return nil // a pg_catalog function: its code is the server's
	}
	if r := l.rels[oid]; r != nil {
		return &dep{rel: r}
	}
	return nil
}

func (l *liveLoader) loadViews(ctx context.Context, q Querier) error {
	rows, err := q.Query(ctx, viewsSQL)
	if err != nil {
		return fmt.Errorf("reading view dependencies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var view, ref int64
		var kind string
		if err := rows.Scan(&view, &kind, &ref); err != nil {
			return fmt.Errorf("reading view dependencies: %w", err)
		}
		if v := l.rels[view]; v != nil {
			if d := l.dep(kind, ref); d != nil {
				v.deps = append(v.deps, d)
			}
		}
	}
	return rows.Err()
}

var liveRootKinds = map[string]rootKind{
	"check": rootCheck, "domain_check": rootDomainCheck, "default": rootDefault, "generated": rootGenerated,
	"index": rootIndex, "trigger": rootTrigger, "matview": rootMatview, "stats": rootStats,
}

func (l *liveLoader) loadRoots(ctx context.Context, q Querier) error {
	rows, err := q.Query(ctx, rootsSQL)
	if err != nil {
		return fmt.Errorf("reading constraints, defaults, indexes and triggers: %w", err)
	}
	defer rows.Close()
	byDesc := map[string]*root{}
	for rows.Next() {
		var kind, desc, table, refKind string
		var ref int64
		if err := rows.Scan(&kind, &desc, &table, &refKind, &ref); err != nil {
			return fmt.Errorf("reading constraints, defaults, indexes and triggers: %w", err)
		}
		key := kind + "\x00" + desc
		r := byDesc[key]
		if r == nil {
			r = &root{kind: liveRootKinds[kind], desc: desc, order: l.cat.order()}
			if parts, ok := splitQualified(table); ok {
				r.table = lastTwo(parts)
			}
			byDesc[key] = r
			l.cat.roots = append(l.cat.roots, r)
		}
		if d := l.dep(refKind, ref); d != nil {
			r.deps = append(r.deps, d)
		}
	}
	return rows.Err()
}

// loadTransitions records the transition table names of triggers on their
// functions.
func (l *liveLoader) loadTransitions(ctx context.Context, q Querier) error {
	rows, err := q.Query(ctx, transitionsSQL)
	if err != nil {
		return fmt.Errorf("reading trigger transition tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid int64
		var name string
		if err := rows.Scan(&oid, &name); err != nil {
			return fmt.Errorf("reading trigger transition tables: %w", err)
		}
		if f := l.funcs[oid]; f != nil {
			f.addTransition(name)
		}
	}
	return rows.Err()
}
