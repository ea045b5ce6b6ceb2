package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
)

// Nothing verified is never a pass: a run that compared no table exits 2
// with a one-line reason that says what to change. The reasons are worked
// out here, from the result counts and, only on this path, a second look at
// the source's tables.

// noTablesError explains why sel selected no table of the source.
func (f *connFlags) noTablesError(ctx context.Context, sel catalog.Selection, flag string) error {
	generic := fmt.Errorf("no tables selected; check %s/--exclude", flag)
	dsn, err := f.sourceDSN()
	if err != nil {
		return generic
	}
	conn, err := dbconn.Connect(ctx, dsn, f.options("source", true))
	if err != nil {
		return generic
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := catalog.ListTables(ctx, conn)
	if err != nil {
		return generic
	}
	return explainNoTables(conn.Config().Database, conn.Config().User, tables, sel, flag)
}

func explainNoTables(db, user string, tables []catalog.Table, sel catalog.Selection, flag string) error {
	if db == "" {
		db = user // what the server connects to without a database name
	}
	if len(tables) == 0 {
		return fmt.Errorf("no tables to verify: the source database %q has no tables; check the database name in --source", db)
	}
	included := 0
	for _, t := range tables {
		if (catalog.Selection{Include: sel.Include}).Match(t.Schema, t.Name) {
			included++
		}
	}
	if included == 0 {
		return fmt.Errorf("no tables selected: %s matches none of the %d table(s) of source database %q; check %s", patterns(flag, sel.Include), len(tables), db, flag)
	}
	what := fmt.Sprintf("all %d table(s)", included)
	if len(sel.Include) > 0 {
		what = fmt.Sprintf("all %d table(s) %s selected", included, patterns(flag, sel.Include))
	}
	if len(sel.Exclude) > 0 {
		return fmt.Errorf("no tables selected: %s excluded %s; check %s/--exclude", patterns("--exclude", sel.Exclude), what, flag)
	}
	return fmt.Errorf("no tables verified of the %d selected; check %s/--exclude", included, flag)
}

// patterns renders flag values as they would be typed: --exclude '*.*'.
func patterns(flag string, ps []string) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = flag + " '" + strings.ReplaceAll(p, "'", `'\''`) + "'"
	}
	return strings.Join(s, " ")
}

// noSequencesError explains a sequences run that found none to check.
func noSequencesError(cfg *pgx.ConnConfig, sel catalog.Selection) error {
	if len(sel.Include)+len(sel.Exclude) > 0 {
		return fmt.Errorf("no sequences selected: %s; check --sequence/--exclude",
			strings.TrimSpace(patterns("--sequence", sel.Include)+" "+patterns("--exclude", sel.Exclude)))
	}
	db := cfg.Database
	if db == "" {
		db = cfg.User
	}
	return fmt.Errorf("no sequences to check: neither side of database %q has one; check the database name in --source and --target", db)
}
