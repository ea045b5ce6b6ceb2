package lint

import (
	"context"
	"sort"
	"strings"
)

// Input is one script to lint: pg_dump --schema-only output or hand-written
// DDL (migrations). Scripts are replayed in order into one catalog, each
// starting with the default search_path as a new psql session would.
type Input struct {
	Name string // shown in findings: a path, or "<stdin>"
	SQL  string
}

// Options tune a lint run.
type Options struct {
	// PGVersion picks the built-in pg_catalog names file inputs are checked
	// against (13, 16 or 17; 0 means DefaultPGVersion). LintDatabase reads
	// the live catalog instead.
	PGVersion int
	// Ignore lists codes to drop (counted in Result.Suppressed).
	Ignore []string
}

func (o Options) ignored(code string) bool {
	for _, c := range o.Ignore {
		if strings.EqualFold(strings.TrimSpace(c), code) {
			return true
		}
	}
	return false
}

// LintFiles lints scripts. It returns a *ParseError for a script that does
// not parse and a *VersionError for a PGVersion without a built-in list.
func LintFiles(ctx context.Context, inputs []Input, opts Options) (*Result, error) {
	major := opts.PGVersion
	if major == 0 {
		major = DefaultPGVersion
	}
	bi, err := loadBuiltins(major)
	if err != nil {
		return nil, err
	}
	cat := newCatalog(bi)
	res := &Result{Mode: "files", PGVersion: major, Inputs: []string{}}
	order := map[string]int{}
	for i, in := range inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res.Inputs = append(res.Inputs, in.Name)
		if _, ok := order[in.Name]; !ok {
			order[in.Name] = i
		}
		if err := cat.replayFile(ctx, newSrcFile(in.Name, in.SQL)); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	findings, a, err := cat.analyze(ctx)
	if err != nil {
		return nil, err
	}
	finish(res, cat, a, findings, opts, order)
	return res, nil
}

// finish drops suppressed findings, fills rule data and fixes, and sorts.
func finish(res *Result, cat *catalog, a *analyzer, findings []Finding, opts Options, order map[string]int) {
	for _, l := range cat.funcs {
		for _, f := range l {
			if f.extension == "" && f.kind != 'a' {
				res.Functions++
			}
		}
	}
	res.Findings = []Finding{}
	res.Fixes = []Fix{}
	type fixAcc struct {
		fn    *funcObj
		codes map[string]bool
		idx   []int
	}
	var fixes []*fixAcc
	byFn := map[*funcObj]*fixAcc{}
	for _, fd := range findings {
		if fd.suppressed || opts.ignored(fd.Code) {
			res.Suppressed++
			continue
		}
		rule, _ := RuleByCode(fd.Code)
		fd.Rule, fd.Severity, fd.Remediation = rule.Name, rule.Severity, rule.Remediation
		res.Findings = append(res.Findings, fd)
		// PGV107 has no search_path fix, nor has a path the body sets itself
		// (an ALTER FUNCTION ... SET would be overridden by the body).
		if fd.fn != nil && fd.Code != CodeCrossTable && !(fd.Code == CodePinnedMiss && !fd.fn.pinned) {
			acc := byFn[fd.fn]
			if acc == nil {
				acc = &fixAcc{fn: fd.fn, codes: map[string]bool{}}
				byFn[fd.fn] = acc
				fixes = append(fixes, acc)
			}
			acc.codes[fd.Code] = true
			acc.idx = append(acc.idx, len(res.Findings)-1)
		}
	}
	for _, acc := range fixes {
		path, notes := a.fixPath(acc.fn)
		sql, err := fixSQL(acc.fn, path)
		if err != nil {
			// Cannot happen for identities we built; keep the finding
			// without a fix rather than print SQL we did not verify.
			continue
		}
		var codes []string
		for c := range acc.codes {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		res.Fixes = append(res.Fixes, Fix{Object: acc.fn.ident, Codes: codes, SQL: sql, Notes: notes})
		for _, i := range acc.idx {
			res.Findings[i].Fix = sql
		}
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.File != b.File {
			return order[a.File] < order[b.File]
		}
		if a.Object != b.Object && a.File == "" {
			return a.Object < b.Object
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Code < b.Code
	})
}
