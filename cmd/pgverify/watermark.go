package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/watermark"
)

// WatermarkOptions are the inputs of `pgverify watermark`.
type WatermarkOptions struct {
	Conn       connFlags
	Out        outputFlags
	Tables     []string
	Columns    []string
	Exclude    []string
	Timeout    time.Duration
	NoProgress bool

	stdout, stderr io.Writer
}

func newWatermarkCmd() *cobra.Command {
	opts := &WatermarkOptions{}
	cmd := &cobra.Command{
		Use:   "watermark --table SCHEMA.TABLE --column COLUMN",
		Short: "Prove an append-only table lost nothing below max(column), while writes go on",
		Long: `Read max(column) on the source and count the rows at or below it, in one
snapshot; wait (up to --timeout) until the target holds that value; count the
same rows on the target. Equal counts prove every row the source had up to the
watermark reached the target; rows above it are ignored, so replication can
keep running.

The column must grow with each insert: a bigint id or an insert timestamp.
--column given once applies to every --table; given once per --table, they
pair up in order.

Exit status: 0 all counts equal, 1 a count differs, 2 timeout or could not
verify.`,
		Example: `  pgverify watermark --table public.transactions --column id
  pgverify watermark -t public.transactions -c id -t public.events -c created_at --timeout 5m
  pgverify watermark -t 'audit.*' -c id --exclude audit.tmp --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runWatermark(cmd.Context(), opts)
		},
	}
	opts.Conn.register(cmd, true)
	opts.Out.register(cmd, report.VerifyFormats...)
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Tables, "table", "t", nil, "append-only table, schema.name or glob (repeatable)")
	f.StringArrayVarP(&opts.Columns, "column", "c", nil, "watermark column: once for all tables, or once per --table")
	f.StringArrayVar(&opts.Exclude, "exclude", nil, "skip tables matching schema.name (glob; repeatable)")
	f.DurationVar(&opts.Timeout, "timeout", watermark.DefaultTimeout, "longest wait for the target to reach the watermarks, for all tables together")
	f.BoolVar(&opts.NoProgress, "no-progress", false, "no progress line even on a terminal")
	return cmd
}

// watermarkChecks pairs --table and --column.
func watermarkChecks(tables, columns []string) ([]watermark.Check, error) {
	if len(tables) == 0 {
		return nil, flagErrorf("--table is required: name the append-only table(s), e.g. --table public.transactions --column id")
	}
	if len(columns) == 0 {
		return nil, flagErrorf("--column is required: the column that grows with each insert (bigint id or timestamp)")
	}
	if len(columns) != 1 && len(columns) != len(tables) {
		return nil, flagErrorf("give --column once (for every --table) or once per --table in the same order; got %d --table and %d --column", len(tables), len(columns))
	}
	out := make([]watermark.Check, len(tables))
	for i, t := range tables {
		c := columns[0]
		if len(columns) > 1 {
			c = columns[i]
		}
		if t == "" || c == "" {
			return nil, flagErrorf("--table and --column must not be empty")
		}
		out[i] = watermark.Check{Table: t, Column: c}
	}
	return out, nil
}

func runWatermark(ctx context.Context, opts *WatermarkOptions) (err error) {
	checks, err := watermarkChecks(opts.Tables, opts.Columns)
	if err != nil {
		return err
	}
	if opts.Timeout <= 0 {
		return flagErrorf("--timeout must be positive, got %s", opts.Timeout)
	}
	out, err := opts.Out.start(opts.stdout)
	if err != nil {
		return err
	}
	defer func() { err = out.close(err) }()
	src, dst, err := opts.Conn.connectPair(ctx, false)
	if err != nil {
		return err
	}
	defer src.Close(context.Background())
	defer dst.Close(context.Background())

	wo := watermark.Options{Checks: checks, Exclude: opts.Exclude, Timeout: opts.Timeout}
	if !opts.NoProgress && report.IsTerminal(opts.stderr) {
		wo.Progress = report.WatermarkProgress(opts.stderr)
	}
	res, err := watermark.Run(ctx, src, dst, wo)
	if err != nil {
		out.abort()
		return err
	}
	if err := out.finish(func(w io.Writer) error { return report.Watermark(w, opts.Out.format, res) }); err != nil {
		return err
	}
	s := res.Summary()
	switch report.WatermarkVerdict(s) {
	case "mismatch":
		return errFindings
	case "unverified":
		if s.Total == 0 {
			return opts.Conn.noTablesError(ctx, catalog.Selection{Include: opts.Tables, Exclude: opts.Exclude}, "--table")
		}
		for _, t := range res.Tables {
			if t.Status == watermark.Timeout || t.Status == watermark.Error {
				return fmt.Errorf("could not verify %d of %d table(s): %s (%s): %s", s.Timeout+s.Error, s.Total, t.Table, t.Column, t.Detail)
			}
		}
	}
	return nil
}
