package preflight

// What the apply worker runs, from schema lint and the catalogs: PF017
// (unqualified names), PF018 (triggers that fire on the subscriber), PF025
// (constraints or indexes that read other tables).

import (
	"context"
	"fmt"
	"strings"

	"github.com/pgverify/pgverify/schema/lint"
)

// ruleUnqualified reuses schema lint's live-database rules (one definition
// for both commands): PGV101 and PGV105 are names that do not resolve in
// code the apply worker, a restore or PG 17 maintenance runs; PGV106 and
// PGV108 are such code that could not be checked.
func ruleUnqualified(ctx context.Context, e *env) ([]Finding, error) {
	var out []Finding
	for _, s := range e.sides() {
		res, err := e.lint(ctx, s)
		if err != nil {
			return nil, err
		}
		broken := groupLint(res, func(f lint.Finding) bool {
			return f.Code == lint.CodeReachable || (f.Code == lint.CodePinnedMiss && len(f.Chain) > 0)
		})
		if len(broken.objects) > 0 {
			out = append(out, Finding{Severity: Critical, Side: s.side, Objects: broken.objects,
				Detail: "The apply and table-sync workers run with search_path = '' (pg_catalog only); so do " +
					"pg_dump scripts, and PG 17 maintenance runs with pg_catalog, pg_temp. These functions run " +
					"there (from a constraint, default, generated column, index, ALWAYS/REPLICA trigger or " +
					"materialized view) and name objects without a schema: they fail and stop replication.\n" +
					strings.Join(broken.lines, "\n"),
				Remedy: broken.remedy("Schema-qualify the names in the bodies, or pin the search path: " +
					"ALTER FUNCTION <function> SET search_path = public, pg_temp;"),
			})
		}
		unchecked := groupLint(res, func(f lint.Finding) bool {
			// PGV108 is also reported for bodies nothing reaches: only
			// reached ones (with a chain) concern the apply worker.
			return f.Code == lint.CodeDynamic || f.Code == lint.CodeNotAnalyzed && len(f.Chain) > 0
		})
		if len(unchecked.objects) > 0 {
			out = append(out, Finding{Severity: Warning, Side: s.side, Objects: unchecked.objects,
				Title: "functions run by the apply worker that could not be checked",
				Detail: "These functions run in the apply worker (or a restore) without a pinned search_path, " +
					"but their names could not be checked: dynamic SQL, or a body that does not parse or is " +
					"not SQL or PL/pgSQL.\n" + strings.Join(unchecked.lines, "\n"),
				Remedy: "Pin their search path: ALTER FUNCTION <function> SET search_path = public, pg_temp;",
			})
		}
	}
	return out, nil
}

// ruleCrossTable: a CHECK, index or generated column that reads another
// table can fail during the initial table sync, which copies tables in no
// particular order (schema lint PGV107).
func ruleCrossTable(ctx context.Context, e *env) ([]Finding, error) {
	var out []Finding
	for _, s := range e.sides() {
		res, err := e.lint(ctx, s)
		if err != nil {
			return nil, err
		}
		g := groupLint(res, func(f lint.Finding) bool { return f.Code == lint.CodeCrossTable })
		if len(g.objects) == 0 {
			continue
		}
		out = append(out, Finding{Severity: Warning, Side: s.side, Objects: g.objects,
			Detail: "These constraints, indexes or generated columns call functions that read other tables. " +
				"The initial table sync (and pg_restore) loads tables in no order that respects this, so they " +
				"can fail although the data is consistent.\n" + strings.Join(g.lines, "\n"),
			Remedy: "Enforce the rule with a foreign key or a trigger (ordinary triggers do not fire in the apply worker).",
		})
	}
	return out, nil
}

// lint runs schema lint on a side once.
func (e *env) lint(ctx context.Context, s *server) (*lint.Result, error) {
	if r, ok := e.lints[s.side]; ok {
		return r, nil
	}
	r, err := lint.LintDatabase(ctx, s.conn, lint.Options{})
	if err != nil {
		return nil, &sideError{s.side, fmt.Errorf("schema lint: %w", err)}
	}
	e.lints[s.side] = r
	return r, nil
}

// lintGroup is lint findings grouped by object, in order.
type lintGroup struct {
	objects, lines, fixes []string
}

func (g lintGroup) remedy(fallback string) string {
	if len(g.fixes) == 0 {
		return fallback
	}
	return strings.Join(g.fixes, " ")
}

func groupLint(res *lint.Result, keep func(lint.Finding) bool) lintGroup {
	var g lintGroup
	refs := map[string][]string{}
	via := map[string]string{}
	for _, f := range res.Findings {
		if !keep(f) {
			continue
		}
		obj := strings.TrimPrefix(f.Object, "function ")
		if _, ok := refs[obj]; !ok {
			g.objects = append(g.objects, obj)
			refs[obj] = nil
			via[obj] = strings.Join(f.Chain, " → ")
		}
		if f.Reference != "" {
			refs[obj] = appendUnique(refs[obj], f.Reference)
		}
	}
	for _, obj := range g.objects {
		line := obj
		switch {
		case strings.HasPrefix(via[obj], obj):
			line = via[obj] // the chain starts at the object itself
		case via[obj] != "":
			line += ": " + via[obj]
		}
		if len(refs[obj]) > 0 {
			line += "; unqualified: " + strings.Join(refs[obj], ", ")
		}
		g.lines = append(g.lines, line)
	}
	for _, fx := range res.Fixes {
		if _, ok := refs[strings.TrimPrefix(fx.Object, "function ")]; ok {
			g.fixes = append(g.fixes, strings.TrimSpace(fx.SQL))
		}
	}
	return g
}

type trigger struct {
	Object     string `db:"object"`
	RootSchema string `db:"root_schema"`
	RootName   string `db:"root_name"`
	Trigger    string `db:"trigger"`
	Enabled    string `db:"enabled"`
	Function   string `db:"function"`
}

func ruleTriggers(ctx context.Context, e *env) ([]Finding, error) {
	var out []Finding
	for _, s := range e.sides() {
		ts, err := collect[trigger](ctx, s, "triggers.sql")
		if err != nil {
			return nil, err
		}
		var objs, lines []string
		for _, t := range ts {
			if !e.opts.Selection.Match(t.RootSchema, t.RootName) {
				continue
			}
			mode := "ALWAYS"
			if t.Enabled == "R" {
				mode = "REPLICA"
			}
			objs = append(objs, t.Object+" "+t.Trigger)
			lines = append(lines, fmt.Sprintf("trigger %s on %s (ENABLE %s) runs %s", t.Trigger, t.Object, mode, t.Function))
		}
		if len(objs) == 0 {
			continue
		}
		out = append(out, Finding{Severity: Warning, Side: s.side, Objects: objs,
			Detail: "These triggers fire in the apply worker for every replicated row, so their side effects " +
				"(audit rows, queues, counters) happen a second time on the subscriber.\n" + strings.Join(lines, "\n"),
			Remedy: "Unless a trigger must run for replicated rows, make it ordinary on the target: " +
				"ALTER TABLE <table> ENABLE TRIGGER <trigger>;",
		})
	}
	return out, nil
}
