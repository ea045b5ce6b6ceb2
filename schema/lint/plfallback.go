package lint

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// plFallback analyzes a PL/pgSQL body that pg_query's PL/pgSQL parser
// rejects although PostgreSQL accepts it (the parser has no catalog: it
// rejects OPEN or FETCH on a refcursor parameter, for one). It scans the
// body with the SQL scanner, cuts out the embedded SQL statements and
// expressions (queries and other SQL statements, PERFORM, RETURN,
// assignments, IF/ELSIF/WHILE conditions, RAISE arguments, EXECUTE) and
// parses each with the SQL parser. f.problem
// records that the analysis was partial, so PGV108 says so.
func (c *catalog) plFallback(f *funcObj, perr error) {
	f.parseFailed = true
	res, err := pg.Scan(f.body)
	if err != nil {
		f.problem = "its PL/pgSQL body could not be parsed: " + perr.Error()
		return
	}
	p := &plState{c: c, f: f, col: newCollector(nil), lines: lineStarts(f.body), vars: map[string]bool{}}
	if _, decls, ok := c.rewriteDeclares(f); ok {
		for _, d := range decls {
			p.declared(d.text, d.off)
		}
	}
	toks := res.Tokens
	body := f.body
	text := func(i int) string { return strings.ToLower(body[toks[i].Start:toks[i].End]) }
	// end finds the token that ends a piece starting at i: a ';' at depth
	// 0, or (for conditions and FOR ... IN queries) THEN or LOOP.
	end := func(i int, stops ...string) int {
		depth := 0
		for j := i; j < len(toks); j++ {
			switch toks[j].Token {
			case pg.Token_ASCII_40, pg.Token_ASCII_91:
				depth++
			case pg.Token_ASCII_41, pg.Token_ASCII_93:
				depth--
			case pg.Token_ASCII_59:
				if depth <= 0 {
					return j
				}
			}
			if depth == 0 {
				for _, s := range stops {
					if text(j) == s {
						return j
					}
				}
			}
		}
		return len(toks)
	}
	tokEnd := func(j int) int {
		if j < len(toks) {
			return int(toks[j].Start)
		}
		return len(body)
	}
	guarded := guardedRanges(toks, text)
	var pieces, parsed int
	// parse parses sql, whose location shift is body offset base.
	parse := func(sql string, base, shift int) {
		pieces++
		tree, err := pg.Parse(sql)
		if err != nil {
			return
		}
		parsed++
		p.col.off = func(loc int32) int { return f.bodyToDef(base + int(loc) - shift) }
		p.col.swallow = false
		for _, g := range guarded {
			p.col.swallow = p.col.swallow || base >= g[0] && base < g[1]
		}
		for _, s := range tree.Stmts {
			p.col.collect(s.Stmt)
		}
		p.col.swallow = false
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.Token == pg.Token_SELECT || t.Token == pg.Token_INSERT || t.Token == pg.Token_UPDATE ||
			t.Token == pg.Token_DELETE_P || t.Token == pg.Token_WITH || t.Token == pg.Token_VALUES ||
			t.Token == pg.Token_CREATE || t.Token == pg.Token_ALTER || t.Token == pg.Token_DROP || t.Token == pg.Token_TRUNCATE ||
			t.Token == pg.Token_IDENT && text(i) == "perform":
			j := end(i, "loop")
			from, to := int(t.Start), tokEnd(j)
			sql := []byte(body[from:to])
			if t.Token == pg.Token_IDENT { // PERFORM → SELECT, same length
				copy(sql, "SELECT ")
			}
			// Blank INTO targets (PL/pgSQL variables, not SELECT INTO tables).
			for k := i + 1; k < j; k++ {
				if toks[k].Token != pg.Token_INTO || toks[k-1].Token == pg.Token_INSERT {
					continue
				}
				m := k + 1
				for m < j && (toks[m].Token == pg.Token_IDENT || toks[m].Token == pg.Token_STRICT_P ||
					toks[m].Token == pg.Token_ASCII_44 || toks[m].Token == pg.Token_ASCII_46) {
					m++
				}
				for b := int(toks[k].Start); b < tokEnd(m) && b < to; b++ {
					if sql[b-from] != '\n' {
						sql[b-from] = ' '
					}
				}
				k = m - 1
			}
			parse(string(sql), from, 0)
			i = j
		case t.Token == pg.Token_COLON_EQUALS, t.Token == pg.Token_RETURN,
			t.Token == pg.Token_IF_P, t.Token == pg.Token_IDENT && (text(i) == "elsif" || text(i) == "while"):
			if i+1 >= len(toks) || toks[i+1].Token == pg.Token_ASCII_59 {
				continue
			}
			if t.Token == pg.Token_RETURN && (text(i+1) == "query" || text(i+1) == "next") {
				if text(i+1) == "next" && i+2 < len(toks) {
					i++ // RETURN NEXT expr
				} else {
					continue // RETURN QUERY: the query's own keyword starts it
				}
			}
			j := end(i+1, "then", "loop")
			from, to := int(toks[i+1].Start), tokEnd(j)
			parse("SELECT "+body[from:to], from, 7)
			i = j - 1
		case t.Token == pg.Token_IDENT && text(i) == "raise":
			// RAISE [level] 'format', expr, ... [USING ...]: the arguments.
			j := end(i+1, "using")
			k := i + 1
			for k < j && toks[k].Token != pg.Token_SCONST {
				k++
			}
			if k+2 < j && toks[k+1].Token == pg.Token_ASCII_44 {
				from, to := int(toks[k+2].Start), tokEnd(j)
				parse("SELECT "+body[from:to], from, 7)
			}
			i = j - 1
		case t.Token == pg.Token_EXECUTE:
			j := end(i+1, "into", "using")
			if j == i+2 && toks[i+1].Token == pg.Token_SCONST {
				if lit, ok := decodeLiteral(body[toks[i+1].Start:toks[i+1].End]); ok {
					pieces++
					if tree, err := pg.Parse(lit.content); err == nil {
						parsed++
						at := int(toks[i+1].Start)
						p.col.off = func(loc int32) int { return f.bodyToDef(at + lit.at(int(loc))) }
						for _, st := range tree.Stmts {
							p.col.collect(st.Stmt)
						}
					}
					i = j - 1
					continue
				}
			}
			if i+1 < len(toks) {
				f.dynamic = append(f.dynamic, f.bodyToDef(int(toks[i+1].Start)))
			}
			i = j - 1
		}
	}
	f.refs = p.col.result()
	f.bodyPath = p.col.setPath
	f.problem = fmt.Sprintf("pg_query's PL/pgSQL parser rejects its body (%v), although PostgreSQL accepts it; "+
		"pgverify checked the SQL it could extract statement by statement (%d of %d parsed), so names elsewhere in the body may be missed", perr, parsed, pieces)
}

// guardedRanges finds, in a scanned PL/pgSQL body, the statements of the
// blocks whose EXCEPTION handler catches a missing name (WHEN others,
// undefined_function, ...): body offsets [from, to).
func guardedRanges(toks []*pg.ScanToken, text func(int) string) [][2]int {
	type open struct {
		begin, exception int // token indexes; exception -1 if none (yet)
		isCase           bool
	}
	var stack []open
	var out [][2]int
	for i := 0; i < len(toks); i++ {
		switch t := toks[i]; {
		case t.Token == pg.Token_BEGIN_P:
			stack = append(stack, open{begin: i, exception: -1})
		case t.Token == pg.Token_CASE:
			stack = append(stack, open{begin: i, exception: -1, isCase: true})
		case t.Token == pg.Token_IDENT && text(i) == "exception" && i+1 < len(toks) && text(i+1) == "when":
			if n := len(stack); n > 0 && !stack[n-1].isCase {
				stack[n-1].exception = i
			}
		case t.Token == pg.Token_END_P:
			if i+1 < len(toks) && (toks[i+1].Token == pg.Token_IF_P || text(i+1) == "loop") {
				continue // END IF, END LOOP
			}
			if len(stack) == 0 {
				continue
			}
			b := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if b.isCase || b.exception < 0 {
				continue
			}
			catches := false
			inCond := false
			for k := b.exception; k < i; k++ {
				switch w := text(k); {
				case w == "when":
					inCond = true
				case w == "then":
					inCond = false
				case inCond:
					name := w
					if toks[k].Token == pg.Token_SCONST { // SQLSTATE '42883'
						name = strings.ToUpper(strings.Trim(w, "'"))
					}
					catches = catches || swallowingConditions[name]
				}
			}
			if catches {
				out = append(out, [2]int{int(toks[b.begin].End), int(toks[b.exception].Start)})
			}
		}
	}
	return out
}
