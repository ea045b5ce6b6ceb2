package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/schema/diff"
)

// schemaDiffOptions are the parsed flags of `pgverify schema diff`.
type schemaDiffOptions struct {
	conn       connFlags
	out        outputFlags
	privileges bool
}

func newSchemaDiffCmd() *cobra.Command {
	var o schemaDiffOptions
	cmd := &cobra.Command{
		Use:   "diff --source DSN --target DSN",
		Short: "Report every schema difference between source and target",
		Long: `Reads both catalogs, each in one REPEATABLE READ snapshot with search_path = '',
and reports every difference in schemas, tables, columns, constraints, indexes,
sequences (definitions), functions and procedures, triggers, views and
materialized views, types, extensions, publications and RLS policies;
--privileges adds owners and grants. Definitions are compared as parse trees,
so a schema restored unchanged into a newer major diffs clean.

"missing" is on the source only, "extra" on the target only, "changed" on
both with a different attribute. Extension version differences are notices.
Exit codes: 0 no differences (notices allowed), 1 differences, 2 could not
compare.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSchemaDiff(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	o.conn.register(cmd, true)
	o.out.register(cmd, report.VerifyFormats...)
	cmd.Flags().BoolVar(&o.privileges, "privileges", false, "also compare owners and grants")
	return cmd
}

func runSchemaDiff(ctx context.Context, stdout io.Writer, o schemaDiffOptions) (err error) {
	out, err := o.out.start(stdout)
	if err != nil {
		return err
	}
	defer func() { err = out.close(err) }()
	src, dst, err := o.conn.connectPair(ctx, false)
	if err != nil {
		return err
	}
	defer src.Close(context.WithoutCancel(ctx))
	defer dst.Close(context.WithoutCancel(ctx))

	res, err := diff.Run(ctx, src, dst, diff.Options{Privileges: o.privileges})
	if err != nil {
		return err
	}
	if nothingToDiff(res) {
		// Two empty databases (a DSN without its database name reaches
		// "postgres" on both sides) are equal and prove nothing.
		db := src.Config().Database
		if db == "" {
			db = src.Config().User
		}
		return fmt.Errorf("nothing to compare: neither side of database %q holds a table, view, function, type or sequence; check the database names in --source and --target", db)
	}

	if err := out.finish(func(w io.Writer) error { return report.SchemaDiff(w, o.out.format, res) }); err != nil {
		return err
	}
	if res.Errors() > 0 {
		return errFindings
	}
	return nil
}

// nothingToDiff reports whether neither side holds any object beyond
// schemas, extensions and default privileges.
func nothingToDiff(r *diff.Result) bool {
	for _, c := range r.Compared {
		switch c.ObjectType {
		case "schema", "extension", "default privileges":
		default:
			if c.Source+c.Target > 0 {
				return false
			}
		}
	}
	return true
}
