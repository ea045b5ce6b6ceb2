package replicate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/preflight"
	"github.com/pgverify/pgverify/schema/diff"
	"github.com/pgverify/pgverify/schema/lint"
)

// preflightIgnored are preflight codes other steps own: PF017 (unqualified
// names) is the lint gate with its --fix-search-path; PF013 (existing slots)
// and PF022/PF023 (subscription state) describe the subscription this
// command creates, which the sync step waits for and diagnoses.
var preflightIgnored = []string{"PF013", "PF017", "PF022", "PF023"}

func (r *run) stepPreflight(ctx context.Context) (StepStatus, string, error) {
	t0 := time.Now()
	res, err := preflight.Run(ctx, r.src, r.tgt, preflight.Options{Selection: r.opts.Selection, Ignore: preflightIgnored})
	if err != nil {
		r.gate("preflight", t0, Error, err.Error())
		return StepFailed, "", fmt.Errorf("preflight: %w", err)
	}
	var stops, details []string
	for _, f := range res.Findings {
		line := fmt.Sprintf("%s %s (%s): %s", f.Code, f.Severity, f.Side, f.Title)
		if len(f.Objects) > 0 {
			line += ": " + strings.Join(f.Objects, ", ")
		}
		if f.Severity == preflight.Blocker || f.Severity == preflight.Critical {
			stops = append(stops, line)
			details = append(details, line, "  remedy: "+firstLine(f.Remedy))
		} else if f.Severity == preflight.Warning {
			details = append(details, line)
		}
	}
	side := "source and target"
	if r.tgt == nil {
		side = "source (the target database does not exist yet)"
	}
	s := res.Summary
	summary := fmt.Sprintf("%d blocker, %d critical, %d warning on the %s", s.Blocker, s.Critical, s.Warning, side)
	if len(stops) > 0 {
		r.gate("preflight", t0, Fail, summary, details...)
		return StepFailed, fmt.Sprintf("%d finding(s) stop the move", len(stops)), errStop
	}
	r.gate("preflight", t0, Pass, summary, details...)
	return StepDone, summary, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// stepDatabase makes sure the target database exists.
func (r *run) stepDatabase(ctx context.Context) (StepStatus, string, error) {
	if !r.targetMissing {
		return StepSkipped, fmt.Sprintf("database %s exists on the target", quoteIfNeeded(r.tgtID.name)), nil
	}
	name := r.res.Target.Database
	if !r.opts.CreateDatabase {
		return StepFailed, "", fmt.Errorf("target database %s does not exist: pass --create-database to create it", quoteIfNeeded(name))
	}
	cfg, err := dbconn.Config(r.opts.TargetDSN, r.opts.TargetConn)
	if err != nil {
		return StepFailed, "", err
	}
	cfg.Database = "postgres"
	maint, err := dbconn.ConnectConfig(ctx, cfg, r.opts.TargetConn)
	if err != nil {
		return StepFailed, "", fmt.Errorf("maintenance database: %w", err)
	}
	defer maint.Close(context.WithoutCancel(ctx))
	stmt := fmt.Sprintf("CREATE DATABASE %s TEMPLATE template0 ENCODING %s", pgx.Identifier{name}.Sanitize(), quoteLit(r.srcID.encoding))
	localeStmt := stmt + fmt.Sprintf(" LC_COLLATE %s LC_CTYPE %s", quoteLit(r.srcID.collate), quoteLit(r.srcID.ctype))
	if r.opts.Plan {
		return StepPlanned, localeStmt, nil
	}
	detail := fmt.Sprintf("created %s with the source's encoding %s and locale %s", quoteIfNeeded(name), r.srcID.encoding, r.srcID.collate)
	if _, err := maint.Exec(ctx, localeStmt); err != nil {
		// The target may lack the source's locale: the encoding alone.
		if _, err2 := maint.Exec(ctx, stmt); err2 != nil {
			return StepFailed, "", fmt.Errorf("create database: %w", err2)
		}
		detail = fmt.Sprintf("created %s with the source's encoding %s; the source's locale %s is not available on the target (%s), so the target's default locale is used", quoteIfNeeded(name), r.srcID.encoding, r.srcID.collate, firstLine(err.Error()))
	}
	r.created = append(r.created, "database "+quoteIfNeeded(name)+" on the target")
	tgt, err := dbconn.Connect(ctx, r.opts.TargetDSN, r.opts.TargetConn)
	if err != nil {
		return StepFailed, "", err
	}
	r.tgt, r.targetMissing = tgt, false
	if err := r.afterTarget(ctx); err != nil {
		return StepFailed, "", err
	}
	return StepDone, detail, nil
}

// quoteLit quotes a string literal the standard way (for names the source
// itself reported: encodings and locales).
func quoteLit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// stepRoles lists the roles the schema needs that the target lacks.
func (r *run) stepRoles(ctx context.Context) (StepStatus, string, error) {
	t0 := time.Now()
	rows, err := r.src.Query(ctx, query("roles_needed.sql"))
	if err != nil {
		return StepFailed, "", fmt.Errorf("source: listing roles: %w", err)
	}
	type role struct {
		name         string
		login, super bool
	}
	var need []role
	var names []string
	for rows.Next() {
		var x role
		if err := rows.Scan(&x.name, &x.login, &x.super); err != nil {
			rows.Close()
			return StepFailed, "", err
		}
		need = append(need, x)
		names = append(names, x.name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return StepFailed, "", fmt.Errorf("source: listing roles: %w", err)
	}
	if r.tgt == nil { // --plan without the database
		return StepPlanned, fmt.Sprintf("check %d role(s) on the target", len(need)), nil
	}
	have := map[string]bool{}
	hr, err := r.tgt.Query(ctx, query("roles_exist.sql"), names)
	if err != nil {
		return StepFailed, "", fmt.Errorf("target: listing roles: %w", err)
	}
	found, err := pgx.CollectRows(hr, pgx.RowTo[string])
	if err != nil {
		return StepFailed, "", fmt.Errorf("target: listing roles: %w", err)
	}
	for _, n := range found {
		have[n] = true
	}
	var missing []string
	for _, x := range need {
		if have[x.name] {
			continue
		}
		attrs := "NOLOGIN"
		if x.login {
			attrs = "LOGIN"
		}
		if x.super {
			attrs += " SUPERUSER"
		}
		missing = append(missing, fmt.Sprintf("CREATE ROLE %s %s; -- set a password separately; none is copied", pgx.Identifier{x.name}.Sanitize(), attrs))
	}
	if len(missing) > 0 {
		r.gate("roles", t0, Fail, fmt.Sprintf("%d of %d role(s) the schema needs are missing on the target", len(missing), len(need)), missing...)
		return StepFailed, "create the missing roles on the target, then run again", errStop
	}
	r.gate("roles", t0, Pass, fmt.Sprintf("all %d role(s) owning or granted objects exist on the target", len(need)))
	return StepSkipped, fmt.Sprintf("%d role(s) already exist on the target", len(need)), nil
}

type table struct {
	schema, name, kind string
	estRows, bytes     int64
}

func listTables(ctx context.Context, c *pgx.Conn) ([]table, error) {
	rows, err := c.Query(ctx, query("user_tables.sql"))
	if err != nil {
		return nil, err
	}
	var out []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.schema, &t.name, &t.kind, &t.estRows, &t.bytes); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, t)
	}
	rows.Close()
	return out, rows.Err()
}

// stepSchema dumps the source's schema, lints it, and applies it to the
// target unless the target holds it already.
func (r *run) stepSchema(ctx context.Context) (StepStatus, string, error) {
	pgDump, err := findTool(r.opts.PgDump, "pg_dump")
	if err != nil {
		return StepFailed, "", err
	}
	major, ver, err := toolMajor(ctx, pgDump)
	if err != nil {
		return StepFailed, "", err
	}
	srcMajor := r.srcID.version / 10000
	if major < srcMajor {
		return StepFailed, "", fmt.Errorf("%s is %s, older than the source (PostgreSQL %d): pg_dump refuses to dump a newer server; install postgresql-client-%d (apt-get install postgresql-client-%d from apt.postgresql.org) and pass --pg-dump /usr/lib/postgresql/%d/bin/pg_dump",
			pgDump, ver, srcMajor, srcMajor, srcMajor, srcMajor)
	}
	dump, err := pgDumpSchema(ctx, pgDump, r.opts.SourceDSN)
	if err != nil {
		return StepFailed, "", fmt.Errorf("pg_dump --schema-only of the source: %w", err)
	}
	var fixes []lint.Fix
	if !r.opts.SkipLint {
		t0 := time.Now()
		lintVersion := r.tgtMajor()
		if lintVersion != 13 && lintVersion != 16 && lintVersion != 17 {
			lintVersion = 0
		}
		lr, err := lint.LintFiles(ctx, []lint.Input{{Name: "pg_dump", SQL: dump}}, lint.Options{PGVersion: lintVersion})
		if err != nil {
			r.gate("lint", t0, Error, err.Error())
			return StepFailed, "", fmt.Errorf("lint of the source schema: %w", err)
		}
		details := lintDetails(lr)
		if lr.Errors() > 0 && !r.opts.FixSearchPath {
			r.gate("lint", t0, Fail, fmt.Sprintf("%d unqualified reference(s) reachable by the apply worker would stall the initial sync; --fix-search-path pins search_path on the target", lr.Errors()), details...)
			return StepFailed, "stopped before the schema was applied to the target", errStop
		}
		if lr.Errors() > 0 {
			fixes = lr.Fixes
			r.gate("lint", t0, Pass, fmt.Sprintf("%d unqualified reference(s) in %d function(s): fixed on the target (--fix-search-path)", lr.Errors(), len(fixes)), details...)
		} else {
			r.gate("lint", t0, Pass, fmt.Sprintf("%d function(s) checked, no reachable unqualified reference", lr.Functions))
		}
	}
	if r.tgt == nil {
		return StepPlanned, "apply the source's schema (pg_dump --schema-only | psql) to the new database", nil
	}
	srcTabs, err := listTables(ctx, r.src)
	if err != nil {
		return StepFailed, "", fmt.Errorf("source: listing tables: %w", err)
	}
	dstTabs, err := listTables(ctx, r.tgt)
	if err != nil {
		return StepFailed, "", fmt.Errorf("target: listing tables: %w", err)
	}
	have := map[string]bool{}
	for _, t := range dstTabs {
		have[t.schema+"."+t.name] = true
	}
	present := 0
	for _, t := range srcTabs {
		if have[t.schema+"."+t.name] {
			present++
		}
	}
	status, detail := StepSkipped, fmt.Sprintf("the target already holds the schema (%d of %d tables)", present, len(srcTabs))
	switch {
	case present == len(srcTabs) && len(srcTabs) > 0:
	case present == 0 && len(dstTabs) == 0:
		if r.opts.Plan {
			status, detail = StepPlanned, fmt.Sprintf("apply the source's schema (%d tables) with psql in one transaction", len(srcTabs))
			r.schemaPlanned = true
			break
		}
		psql, err := findTool(r.opts.Psql, "psql")
		if err != nil {
			return StepFailed, "", err
		}
		if err := applySQL(ctx, psql, r.opts.TargetDSN, dump); err != nil {
			return StepFailed, "", fmt.Errorf("applying the schema on the target: %w", err)
		}
		r.created = append(r.created, fmt.Sprintf("schema (%d tables) on the target", len(srcTabs)))
		status, detail = StepDone, fmt.Sprintf("applied pg_dump --schema-only (%s) of %d tables through psql in one transaction", ver, len(srcTabs))
	default:
		var miss []string
		for _, t := range srcTabs {
			if !have[t.schema+"."+t.name] {
				miss = append(miss, displayName(t.schema, t.name))
			}
		}
		return StepFailed, "", fmt.Errorf("the target holds only part of the source's schema (%d of %d tables; missing %s): create the rest, or start from an empty target database", present, len(srcTabs), strings.Join(first(miss, 5), ", "))
	}
	if len(fixes) > 0 {
		if r.opts.Plan {
			return status, detail + fmt.Sprintf("; pin search_path of %d function(s) on the target", len(fixes)), nil
		}
		applied := 0
		for _, f := range fixes {
			var pinned bool
			if err := r.tgt.QueryRow(ctx, query("pinned.sql"), f.Object).Scan(&pinned); err == nil && pinned {
				continue // a previous run pinned it
			}
			if _, err := r.tgt.Exec(ctx, f.SQL); err != nil {
				return StepFailed, "", fmt.Errorf("--fix-search-path on the target (%s): %w", f.Object, err)
			}
			applied++
		}
		r.lintFixes = len(fixes)
		if applied > 0 {
			detail += fmt.Sprintf("; pinned search_path of %d function(s) on the target (the source is not altered)", applied)
			if status == StepSkipped {
				status = StepDone
			}
		} else {
			detail += fmt.Sprintf("; search_path of %d function(s) already pinned on the target", len(fixes))
		}
	}
	return status, detail, nil
}

func (r *run) tgtMajor() int {
	if r.tgtID.version > 0 {
		return r.tgtID.version / 10000
	}
	return 0
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// lintDetails names each finding: the reference, its function and the
// chain from the constraint, index or trigger that reaches it.
func lintDetails(lr *lint.Result) []string {
	var out []string
	for _, f := range lr.Findings {
		if f.Severity != lint.Error {
			continue
		}
		line := fmt.Sprintf("%s %s: %s", f.Code, f.Object, f.Message)
		if len(f.Chain) > 0 {
			line += " (reached by " + strings.Join(f.Chain, " → ") + ")"
		}
		out = append(out, line)
		if f.Fix != "" {
			out = append(out, "  fix: "+strings.Join(strings.Fields(f.Fix), " "))
		}
	}
	return out
}

// stepDiff compares the schemas. Differences that are the plumbing (the
// source's publication) and, after --fix-search-path, the search_path
// pinned on the target's functions are set apart.
func (r *run) stepDiff(ctx context.Context) (StepStatus, string, error) {
	if r.tgt == nil || r.schemaPlanned {
		return StepPlanned, "compare the schemas", nil
	}
	t0 := time.Now()
	res, err := diff.Run(ctx, r.src, r.tgt, diff.Options{})
	if err != nil {
		r.gate("schema diff", t0, Error, err.Error())
		return StepFailed, "", fmt.Errorf("schema diff: %w", err)
	}
	var errs, notices []string
	pinned := 0
	for _, d := range res.Differences {
		if d.ObjectType == "publication" {
			r.res.Plumbing = append(r.res.Plumbing, fmt.Sprintf("publication %s %s on the %s", d.Object, kindSide(d.Kind), sideOf(d.Kind)))
			continue
		}
		if r.expectedPin(d) {
			pinned++
			continue
		}
		line := fmt.Sprintf("%s %s %s", d.ObjectType, d.Object, d.Kind)
		if d.Attribute != "" {
			line += " " + d.Attribute + ": source " + deref(d.Source) + ", target " + deref(d.Target)
		}
		if d.Severity == diff.SeverityError {
			errs = append(errs, line)
		} else {
			notices = append(notices, "notice: "+line)
		}
	}
	summary := fmt.Sprintf("%d difference(s), %d notice(s)", len(errs), len(notices))
	if pinned > 0 {
		summary += fmt.Sprintf("; %d expected difference(s) set apart: search_path pinned on the target by --fix-search-path", pinned)
	}
	if len(errs) > 0 {
		r.gate("schema diff", t0, Fail, summary, append(errs, notices...)...)
		return StepFailed, "the target's schema differs from the source's", errStop
	}
	r.gate("schema diff", t0, Pass, summary, notices...)
	return StepDone, summary, nil
}

// expectedPin is a function whose only difference is the search_path
// --fix-search-path set on the target.
func (r *run) expectedPin(d diff.Difference) bool {
	if !r.opts.FixSearchPath || d.ObjectType != "function" || d.Kind != diff.Changed || d.Attribute != "config" {
		return false
	}
	t := deref(d.Target)
	return strings.Contains(t, "search_path") && !strings.Contains(deref(d.Source), "search_path")
}

func kindSide(k diff.Kind) string {
	if k == diff.Missing {
		return "exists only"
	}
	return "differs"
}

func sideOf(k diff.Kind) string {
	if k == diff.Extra {
		return "target"
	}
	return "source"
}

func deref(p *string) string {
	if p == nil {
		return "(none)"
	}
	return *p
}

// selectedTables are the source tables the publication carries: the
// selection, with partitions published through their root.
func (r *run) selectedTables(ctx context.Context) ([]table, error) {
	all, err := listTables(ctx, r.src)
	if err != nil {
		return nil, fmt.Errorf("source: listing tables: %w", err)
	}
	var out []table
	for _, t := range all {
		if r.opts.Selection.Match(t.schema, t.name) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (r *run) selecting() bool {
	return len(r.opts.Selection.Include) > 0 || len(r.opts.Selection.Exclude) > 0
}

// stepPublication creates the publication on the source (the only change
// ever made there) or checks that the existing one matches.
func (r *run) stepPublication(ctx context.Context) (StepStatus, string, error) {
	name := r.opts.Publication
	// want is what CREATE PUBLICATION lists; leaves what
	// pg_publication_tables shows for it (partitions, not their parents).
	var want, leaves []string
	if r.selecting() {
		tabs, err := r.selectedTables(ctx)
		if err != nil {
			return StepFailed, "", err
		}
		if len(tabs) == 0 {
			return StepFailed, "", errors.New("--table/--exclude select no source table")
		}
		for _, t := range tabs {
			want = append(want, t.schema+"."+t.name)
			if t.kind == "r" {
				leaves = append(leaves, t.schema+"."+t.name)
			}
		}
		sort.Strings(want)
	}
	var all, ins, upd, del, trunc bool
	var tabs []string
	err := r.src.QueryRow(ctx, query("publication.sql"), name).Scan(&all, &ins, &upd, &del, &trunc, &tabs)
	if err == nil {
		var differs []string
		if r.selecting() {
			if all {
				differs = append(differs, "it is FOR ALL TABLES, the selection is a table list")
			} else if !subset(leaves, tabs) {
				differs = append(differs, "it does not publish every selected table")
			}
		} else if !all {
			differs = append(differs, "it is FOR TABLE (a list), not FOR ALL TABLES")
		}
		if !ins || !upd || !del {
			differs = append(differs, "it does not publish every insert, update and delete")
		}
		if len(differs) > 0 {
			return StepFailed, "", fmt.Errorf("publication %s exists on the source with other settings: %s; drop it or pass another --publication", quoteIfNeeded(name), strings.Join(differs, "; "))
		}
		r.res.Plumbing = append(r.res.Plumbing, "publication "+quoteIfNeeded(name)+" on the source")
		return StepSkipped, "publication " + quoteIfNeeded(name) + " already exists on the source", nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return StepFailed, "", fmt.Errorf("source: reading publication: %w", err)
	}
	stmt := "CREATE PUBLICATION " + pgx.Identifier{name}.Sanitize()
	if r.selecting() {
		ids := make([]string, len(want))
		for i, w := range want {
			s, n, _ := strings.Cut(w, ".")
			ids[i] = ident(s, n)
		}
		stmt += " FOR TABLE " + strings.Join(ids, ", ")
	} else {
		stmt += " FOR ALL TABLES"
	}
	// Check the subscription before changing the source, so a conflict
	// there leaves nothing half-created.
	if r.tgt != nil {
		found, err := r.readSubscription(ctx)
		if err != nil {
			return StepFailed, "", err
		}
		if err := r.subscriptionConflict(found); err != nil {
			return StepFailed, "", err
		}
	}
	if r.opts.Plan {
		return StepPlanned, stmt + " (on the source)", nil
	}
	so := r.opts.SourceConn
	so.ReadOnly = false
	w, err := dbconn.Connect(ctx, r.opts.SourceDSN, so)
	if err != nil {
		return StepFailed, "", err
	}
	defer w.Close(context.WithoutCancel(ctx))
	if _, err := w.Exec(ctx, stmt); err != nil {
		return StepFailed, "", fmt.Errorf("source: %s: %w (creating a publication needs CREATE on the database, and ownership of the tables or superuser for FOR ALL TABLES)", firstWords(stmt), err)
	}
	r.created = append(r.created, "publication "+quoteIfNeeded(name)+" on the source")
	r.res.Plumbing = append(r.res.Plumbing, "publication "+quoteIfNeeded(name)+" on the source (created)")
	return StepDone, stmt, nil
}

func firstWords(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func subset(want, have []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// stepSubscription creates the subscription on the target, copy_data =
// true, or checks the existing one.
func (r *run) stepSubscription(ctx context.Context) (StepStatus, string, error) {
	name, pub := r.opts.Subscription, r.opts.Publication
	if r.tgt == nil {
		return StepPlanned, fmt.Sprintf("CREATE SUBSCRIPTION %s ... PUBLICATION %s WITH (copy_data = true) (on the target)", quoteIfNeeded(name), quoteIfNeeded(pub)), nil
	}
	found, err := r.readSubscription(ctx)
	if err != nil {
		return StepFailed, "", err
	}
	if found != nil {
		if err := r.subscriptionConflict(found); err != nil {
			return StepFailed, "", err
		}
		if found.slot != "" {
			var typ, db string
			var active bool
			if err := r.src.QueryRow(ctx, query("slot.sql"), found.slot).Scan(&typ, &db, &active); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return StepFailed, "", fmt.Errorf("subscription %s on the target uses slot %s, which does not exist on this source: it subscribes to another server", quoteIfNeeded(name), found.slot)
				}
				return StepFailed, "", fmt.Errorf("source: reading slot: %w", err)
			}
			if db != r.srcID.name {
				return StepFailed, "", fmt.Errorf("subscription %s on the target uses slot %s of database %s on the source, not %s", quoteIfNeeded(name), found.slot, db, r.srcID.name)
			}
		}
		r.res.Plumbing = append(r.res.Plumbing, fmt.Sprintf("subscription %s on the target (slot %s on the source)", quoteIfNeeded(name), found.slot))
		return StepSkipped, "subscription " + quoteIfNeeded(name) + " already exists on the target", nil
	}
	// A slot of that name on the source, without a subscription, is a
	// leftover CREATE SUBSCRIPTION would trip over.
	var typ, db string
	var active bool
	if err := r.src.QueryRow(ctx, query("slot.sql"), name).Scan(&typ, &db, &active); err == nil {
		return StepFailed, "", fmt.Errorf("replication slot %s already exists on the source but the target has no subscription %s: drop the slot on the source (SELECT pg_drop_replication_slot('%s')) if nothing uses it, or pass another --subscription", name, quoteIfNeeded(name), name)
	}
	stmtShown := fmt.Sprintf("CREATE SUBSCRIPTION %s CONNECTION '<source conninfo>' PUBLICATION %s WITH (copy_data = true)", pgx.Identifier{name}.Sanitize(), pgx.Identifier{pub}.Sanitize())
	if r.opts.Plan {
		return StepPlanned, stmtShown + " (on the target)", nil
	}
	// CREATE SUBSCRIPTION takes no parameters: the conninfo is a literal
	// quoted by the server's own quote_literal. It holds the password and
	// is never printed.
	var lit string
	if err := r.tgt.QueryRow(ctx, "SELECT pg_catalog.quote_literal($1)", r.opts.SourceDSN).Scan(&lit); err != nil {
		return StepFailed, "", err
	}
	stmt := fmt.Sprintf("CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s WITH (copy_data = true)", pgx.Identifier{name}.Sanitize(), lit, pgx.Identifier{pub}.Sanitize())
	if _, err := r.tgt.Exec(ctx, stmt); err != nil {
		return StepFailed, "", fmt.Errorf("target: CREATE SUBSCRIPTION %s: %s (needs superuser, or on PG 16+ pg_create_subscription and CREATE on the database; the source must accept a replication connection from the target host)", quoteIfNeeded(name), dbconn.Redact(err.Error()))
	}
	r.created = append(r.created, "subscription "+quoteIfNeeded(name)+" on the target (with slot "+name+" on the source)")
	if _, err := r.readSubscription(ctx); err != nil {
		return StepFailed, "", err
	}
	r.res.Plumbing = append(r.res.Plumbing, fmt.Sprintf("subscription %s on the target (created; slot %s on the source)", quoteIfNeeded(name), name))
	return StepDone, stmtShown, nil
}

// subscriptionConflict says how an existing subscription differs from the
// one this run would create.
func (r *run) subscriptionConflict(found *subscription) error {
	if found == nil {
		return nil
	}
	name, pub := r.opts.Subscription, r.opts.Publication
	if len(found.pubs) != 1 || found.pubs[0] != pub {
		return fmt.Errorf("subscription %s exists on the target with publication(s) %s, not %s: drop it or pass another --subscription", quoteIfNeeded(name), strings.Join(found.pubs, ", "), quoteIfNeeded(pub))
	}
	if !found.enabled {
		return fmt.Errorf("subscription %s exists on the target but is disabled: ALTER SUBSCRIPTION %s ENABLE, then run again", quoteIfNeeded(name), pgx.Identifier{name}.Sanitize())
	}
	return nil
}

type subscription struct {
	oid        int64
	enabled    bool
	pubs       []string
	slot       string
	owner      string
	ownerSuper bool
}

func (r *run) readSubscription(ctx context.Context) (*subscription, error) {
	var s subscription
	var slot *string
	err := r.tgt.QueryRow(ctx, query("subscription.sql"), r.opts.Subscription).Scan(&s.oid, &s.enabled, &s.pubs, &slot, &s.owner, &s.ownerSuper)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("target: reading subscription: %w", err)
	}
	if slot != nil {
		s.slot = *slot
	}
	r.subOID, r.subOwner, r.subOwnerSuper = s.oid, s.owner, s.ownerSuper
	return &s, nil
}
