package lint

// The statement dispatcher: a script is parsed (in pieces when large) and
// replayed statement by statement; each DDL family has its handlers in a
// replay_*.go file (see doc.go).

import (
	"context"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"

	pg "github.com/pganalyze/pg_query_go/v6"
	"golang.org/x/sync/errgroup"
)

// stmt is one top-level statement of a script.
type stmt struct {
	start, end int // [start, end) in the file; start is pg_query's stmt_location
	first      int // offset of the first token
	ignore     map[string]bool
}

// ignoreRe finds "pgverify:ignore PGV101, PGV102" in a statement's comments
// (a trivial pattern; SQL itself is never parsed with regular expressions).
var ignoreRe = regexp.MustCompile(`(?i)pgverify:ignore[ \t]+(PGV[0-9]+(?:[ \t]*,[ \t]*PGV[0-9]+)*)`)

// parseIgnores returns the codes named by ignore comments in text.
func parseIgnores(text string) map[string]bool {
	if !strings.Contains(strings.ToLower(text), "pgverify:ignore") {
		return nil
	}
	m := map[string]bool{}
	for _, sub := range ignoreRe.FindAllStringSubmatch(text, -1) {
		for _, c := range strings.Split(sub[1], ",") {
			m[strings.ToUpper(strings.TrimSpace(c))] = true
		}
	}
	return m
}

// replayer builds the catalog from a script, statement by statement,
// following the script's own search_path.
type replayer struct {
	cat  *catalog
	f    *srcFile
	path []string
	// The parse tree being replayed covers f.text[base:limit]; its
	// locations are relative to base.
	base, limit int
}

func (c *catalog) replayFile(ctx context.Context, f *srcFile) error {
	chunks, err := parseChunks(ctx, f)
	if err != nil {
		return err
	}
	rp := &replayer{cat: c, f: f, path: defaultPath}
	for _, ch := range chunks {
		rp.base, rp.limit = ch.from, ch.to
		for _, raw := range ch.tree.Stmts {
			st := rp.newStmt(raw)
			rp.stmt(raw.Stmt, st)
		}
	}
	return nil
}

// wholeParses counts fallbacks from a split parse (tests look at it).
var wholeParses atomic.Int64

// chunk is the parse tree of f.text[from:to].
type chunk struct {
	from, to int
	tree     *pg.ParseResult
}

// parseChunks parses a large script in pieces at once, split at statement
// ends. If any piece fails to parse (a real syntax error, or a split inside
// a BEGIN ATOMIC body, whose semicolons a lexer cannot tell from statement
// ends), the script is parsed whole, so results and errors are exactly the
// parser's.
func parseChunks(ctx context.Context, f *srcFile) ([]chunk, error) {
	const minChunk = 128 << 10
	n := runtime.GOMAXPROCS(0) * 2
	if k := len(f.text) / minChunk; k < n {
		n = k
	}
	if n >= 2 {
		var chunks []chunk
		from := 0
		for i := 1; i < n && from < len(f.text); i++ {
			target := len(f.text) * i / n
			j := sort.SearchInts(f.ends, target)
			if j >= len(f.ends) || f.ends[j] <= from {
				continue
			}
			chunks = append(chunks, chunk{from: from, to: f.ends[j]})
			from = f.ends[j]
		}
		chunks = append(chunks, chunk{from: from, to: len(f.text)})
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(runtime.GOMAXPROCS(0))
		for i := range chunks {
			g.Go(func() error {
				if err := gctx.Err(); err != nil {
					return err
				}
				t, err := pg.Parse(f.text[chunks[i].from:chunks[i].to])
				chunks[i].tree = t
				return err
			})
		}
		if err := g.Wait(); err == nil {
			return chunks, nil
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		wholeParses.Add(1)
	}
	tree, err := pg.Parse(f.text)
	if err != nil {
		return nil, parseError(f, err)
	}
	return []chunk{{from: 0, to: len(f.text), tree: tree}}, nil
}

// abs turns a parse-tree location into a file offset (-1 stays -1).
func (rp *replayer) abs(loc int32) int32 {
	if loc < 0 {
		return loc
	}
	return loc + int32(rp.base)
}

func (rp *replayer) newStmt(raw *pg.RawStmt) *stmt {
	text := rp.f.text
	start := rp.base + int(raw.StmtLocation)
	end := rp.limit
	if raw.StmtLen > 0 {
		end = start + int(raw.StmtLen)
	}
	st := &stmt{start: start, end: end, first: skipSpaceAndComments(text, start)}
	// The ignore comment may lead the statement, sit inside it, or trail its
	// last line; a trailing comment of the previous statement is not ours.
	from := start
	if start > 0 && text[start-1] != '\n' {
		nl := indexFrom(text, start, '\n')
		if strings.HasPrefix(strings.TrimSpace(text[start:nl]), "--") {
			from = nl
		}
	}
	to := indexFrom(text, end, '\n')
	if from < to {
		st.ignore = parseIgnores(text[from:to])
	}
	return st
}

func (rp *replayer) stmt(n *pg.Node, st *stmt) {
	switch s := n.GetNode().(type) {
	case *pg.Node_VariableSetStmt:
		rp.setPath(s.VariableSetStmt)
	case *pg.Node_SelectStmt:
		rp.selectSetConfig(s.SelectStmt)
	case *pg.Node_CreateSchemaStmt:
		rp.cat.schemas[s.CreateSchemaStmt.Schemaname] = true
	case *pg.Node_CreateExtensionStmt:
		schema := rp.creationSchema()
		for _, o := range s.CreateExtensionStmt.Options {
			if d := o.GetDefElem(); d != nil && d.Defname == "schema" {
				if v := d.Arg.GetString_(); v != nil {
					schema = v.Sval
				}
			}
		}
		if schema == "pg_catalog" && s.CreateExtensionStmt.Extname != "plpgsql" {
			rp.cat.extInCatalog = true
		}
		for _, x := range rp.cat.extSchemas {
			if x == schema {
				return
			}
		}
		if schema != "pg_catalog" {
			rp.cat.extSchemas = append(rp.cat.extSchemas, schema)
		}
	case *pg.Node_CreateFunctionStmt:
		rp.createFunction(s.CreateFunctionStmt, st)
	case *pg.Node_AlterFunctionStmt:
		rp.alterFunction(s.AlterFunctionStmt)
	case *pg.Node_CreateStmt:
		rp.createTable(s.CreateStmt, 'r', st)
	case *pg.Node_CreateForeignTableStmt:
		rp.createTable(s.CreateForeignTableStmt.BaseStmt, 'f', st)
	case *pg.Node_AlterTableStmt:
		rp.alterTable(s.AlterTableStmt, st)
	case *pg.Node_IndexStmt:
		rp.createIndex(s.IndexStmt, st)
	case *pg.Node_CreateTrigStmt:
		rp.createTrigger(s.CreateTrigStmt, st)
	case *pg.Node_ViewStmt:
		v := s.ViewStmt
		rp.cat.addRel(&relObj{qname: rp.qualify(rangeVarName(v.View)), kind: 'v', query: v.Query, path: rp.path})
	case *pg.Node_CreateTableAsStmt:
		rp.createTableAs(s.CreateTableAsStmt, st)
	case *pg.Node_CreateSeqStmt:
		rp.cat.addRel(&relObj{qname: rp.qualify(rangeVarName(s.CreateSeqStmt.Sequence)), kind: 'S'})
	case *pg.Node_CompositeTypeStmt:
		rp.cat.addType(&typeObj{qname: rp.qualify(rangeVarName(s.CompositeTypeStmt.Typevar)), kind: 'c'})
	case *pg.Node_CreateEnumStmt:
		rp.cat.addType(&typeObj{qname: rp.qualify(lastTwo(strs(s.CreateEnumStmt.TypeName))), kind: 'e'})
	case *pg.Node_CreateRangeStmt:
		q := rp.qualify(lastTwo(strs(s.CreateRangeStmt.TypeName)))
		rp.cat.addType(&typeObj{qname: q, kind: 'r'})
		rp.cat.addType(&typeObj{qname: qname{q.schema, multirangeName(q.name)}, kind: 'm'})
	case *pg.Node_CreateDomainStmt:
		rp.createDomain(s.CreateDomainStmt, st)
	case *pg.Node_AlterDomainStmt:
		rp.alterDomain(s.AlterDomainStmt, st)
	case *pg.Node_DefineStmt:
		rp.define(s.DefineStmt, st)
	case *pg.Node_CreateStatsStmt:
		rp.createStats(s.CreateStatsStmt, st)
	case *pg.Node_RenameStmt:
		rp.rename(s.RenameStmt)
	case *pg.Node_AlterObjectSchemaStmt:
		rp.setSchema(s.AlterObjectSchemaStmt)
	case *pg.Node_DropStmt:
		rp.drop(s.DropStmt)
	}
}

// multirangeName is the name PG 14+ gives a range type's multirange.
func multirangeName(rng string) string {
	if i := strings.Index(rng, "range"); i >= 0 {
		return rng[:i] + "multirange" + rng[i+len("range"):]
	}
	return rng + "_multirange"
}
