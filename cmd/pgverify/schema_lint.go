package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/schema/lint"
)

// schemaLintOptions are the flags of `pgverify schema lint`.
type schemaLintOptions struct {
	files            []string
	db               string
	pgVersion        int
	ignore           []string
	strict           bool
	fix              bool
	includeDown      bool
	statementTimeout time.Duration
	lockTimeout      time.Duration
	out              outputFlags
}

func newSchemaLintCmd() *cobra.Command {
	o := &schemaLintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [FILE|DIR|-]... | --db DSN",
		Short: "Find function code that breaks under an empty search_path (replication, restore, PG 17 maintenance)",
		Long: `Lint a schema for names that only resolve through search_path inside function
bodies. The logical replication apply and table-sync workers and pg_dump scripts
run with an empty search_path (PG 17 maintenance with pg_catalog, pg_temp), so a
CHECK constraint, default, generated column, index, ENABLE ALWAYS/REPLICA
trigger or materialized view that reaches such a function fails there.

Inputs: SQL files (pg_dump --schema-only output or migrations, replayed in
order; a directory means its *.sql files in migration order: by numeric version
prefix, 11_x before 100_y, *.down.sql skipped; - reads stdin), or a
live database with --db. Codes, severities and fixes: docs/schema-lint.md.

Exit codes: 0 no errors (warnings allowed unless --strict), 1 findings,
2 could not lint.`,
		Example: `  pg_dump --schema-only app > dump.sql && pgverify schema lint dump.sql
  pgverify schema lint migrations/*.sql --format sarif -o lint.sarif
  pgverify schema lint --db "$PGVERIFY_SOURCE" --fix > fix.sql`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.files = args
			if err := o.validate(cmd); err != nil {
				return err
			}
			return runSchemaLint(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.db, "db", "", "lint a live database (DSN: URL or key=value) instead of files")
	fl.IntVar(&o.pgVersion, "pg-version", lint.DefaultPGVersion, "PostgreSQL major whose pg_catalog names file inputs are checked against: "+majorsList())
	fl.StringSliceVar(&o.ignore, "ignore", nil, "drop findings with these codes (repeatable or comma-separated, e.g. PGV103)")
	fl.BoolVar(&o.strict, "strict", false, "exit 1 on warnings too")
	fl.BoolVar(&o.fix, "fix", false, "print the remediation as SQL (ALTER FUNCTION ... SET search_path) instead of the report")
	fl.BoolVar(&o.includeDown, "include-down", false, "also replay *.down.sql files of input directories (skipped by default)")
	guardFlag(fl, &o.statementTimeout, "statement-timeout", dbconn.DefaultStatementTimeout, "statement_timeout for the --db session (at least 1ms)")
	guardFlag(fl, &o.lockTimeout, "lock-timeout", dbconn.DefaultLockTimeout, "lock_timeout for the --db session (at least 1ms)")
	o.out.register(cmd, report.Text, report.JSON, report.SARIF, report.JUnit, report.Markdown)
	return cmd
}

func majorsList() string {
	s := make([]string, len(lint.Majors))
	for i, m := range lint.Majors {
		s[i] = strconv.Itoa(m)
	}
	return strings.Join(s, ", ")
}

func (o *schemaLintOptions) validate(cmd *cobra.Command) error {
	switch {
	case o.db == "" && len(o.files) == 0:
		return flagErrorf("nothing to lint: give SQL files (or - for stdin), or --db DSN")
	case o.db != "" && len(o.files) > 0:
		return flagErrorf("give either files or --db, not both")
	case o.db != "" && cmd.Flags().Changed("pg-version"):
		return flagErrorf("--pg-version applies to files; with --db the server's own pg_catalog is used")
	case o.fix && o.out.format != report.Text:
		return flagErrorf("--fix prints SQL; it cannot be combined with --format %s", o.out.format)
	}
	known := false
	for _, m := range lint.Majors {
		known = known || m == o.pgVersion
	}
	if !known {
		return flagErrorf("no built-in list for --pg-version %d: use one of %s (or lint the live database with --db)", o.pgVersion, majorsList())
	}
	for i, c := range o.ignore {
		c = strings.ToUpper(strings.TrimSpace(c))
		if _, ok := lint.RuleByCode(c); !ok {
			return flagErrorf("--ignore %s: no such rule (codes are %s..%s, see docs/schema-lint.md)", c, lint.Rules[0].Code, lint.Rules[len(lint.Rules)-1].Code)
		}
		o.ignore[i] = c
	}
	stdin := 0
	for _, f := range o.files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return flagErrorf("- (stdin) can be given only once")
	}
	return nil
}

func runSchemaLint(ctx context.Context, stdin io.Reader, stdout io.Writer, o *schemaLintOptions) (err error) {
	out, err := o.out.start(stdout)
	if err != nil {
		return err
	}
	defer func() { err = out.close(err) }()
	opts := lint.Options{PGVersion: o.pgVersion, Ignore: o.ignore}
	var res *lint.Result
	if o.db != "" {
		conn, err := dbconn.Connect(ctx, o.db, dbconn.Options{Role: "database", ReadOnly: true,
			StatementTimeout: o.statementTimeout, LockTimeout: o.lockTimeout})
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if res, err = lint.LintDatabase(ctx, conn, opts); err != nil {
			return fmt.Errorf("lint database: %w", err)
		}
	} else {
		inputs, order, skipped, err := readLintInputs(stdin, o.files, o.includeDown)
		if err != nil {
			return err
		}
		if res, err = lint.LintFiles(ctx, inputs, opts); err != nil {
			return err
		}
		res.InputOrder, res.Skipped = order, skipped
	}
	err = out.finish(func(w io.Writer) error {
		switch {
		case o.fix:
			return report.LintFixSQL(w, res)
		case o.out.format == report.JSON:
			return report.LintJSONStrict(w, res, o.strict)
		case o.out.format == report.SARIF:
			return report.LintSARIF(w, res)
		case o.out.format == report.JUnit:
			return report.LintJUnit(w, res, o.strict)
		case o.out.format == report.Markdown:
			return report.LintMarkdown(w, res, o.strict)
		}
		return report.LintText(w, res)
	})
	if err != nil {
		return err
	}
	if res.Failed(o.strict) {
		return errFindings
	}
	return nil
}

// readLintInputs reads the files in order; a directory contributes its
// *.sql files in migration order (lint.OrderMigrations: numeric version
// prefix, *.down.sql skipped unless includeDown), - reads stdin. It also
// returns one line per directory saying the order used, and the files
// skipped.
func readLintInputs(stdin io.Reader, args []string, includeDown bool) (inputs []lint.Input, order, skipped []string, err error) {
	for _, a := range args {
		if a == "-" {
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("cannot read stdin: %w", err)
			}
			inputs = append(inputs, lint.Input{Name: "<stdin>", SQL: string(b)})
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cannot read %s: %w", a, unwrapPathErr(err))
		}
		paths := []string{a}
		if st.IsDir() {
			all, err := filepath.Glob(filepath.Join(a, "*.sql"))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("cannot list %s: %w", a, err)
			}
			names := make([]string, len(all))
			for i, p := range all {
				names[i] = filepath.Base(p)
			}
			kept, skip := lint.OrderMigrations(names, includeDown)
			if len(kept) == 0 {
				if len(skip) > 0 {
					return nil, nil, nil, fmt.Errorf("directory %s holds only *.down.sql files (use --include-down to replay them)", a)
				}
				return nil, nil, nil, fmt.Errorf("directory %s holds no *.sql files", a)
			}
			paths = paths[:0]
			for _, n := range kept {
				paths = append(paths, filepath.Join(a, n))
			}
			for _, n := range skip {
				skipped = append(skipped, filepath.Join(a, n))
			}
			line := fmt.Sprintf("%s in version order (numeric prefix, natural order): %s", a, strings.Join(kept, ", "))
			if len(skip) > 0 {
				line += fmt.Sprintf("; %d *.down.sql skipped", len(skip))
			}
			order = append(order, line)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("cannot read %s: %w", p, unwrapPathErr(err))
			}
			inputs = append(inputs, lint.Input{Name: p, SQL: string(b)})
		}
	}
	return inputs, order, skipped, nil
}

// unwrapPathErr keeps "no such file or directory" without repeating the path.
func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
