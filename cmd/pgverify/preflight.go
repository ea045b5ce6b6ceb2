package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/preflight"
	"github.com/pgverify/pgverify/report"
)

type preflightOptions struct {
	conn            connFlags
	out             outputFlags
	tables, exclude []string
	longTransaction time.Duration
	maxSlotLag      string
	ignore          []string
}

func newPreflightCmd() *cobra.Command {
	o := &preflightOptions{}
	cmd := &cobra.Command{
		Use:   "preflight --source DSN [--target DSN]",
		Short: "Check from the catalogs what would break or lose data in a logical-replication move",
		Long: `preflight reads the source's catalogs (and the target's, with --target) and
reports everything that will stop logical replication or silently lose data:
wal_level and capacity, tables without a usable replica identity, unlogged
tables, large objects, unqualified names the apply worker cannot resolve,
extensions missing on the target, an unhealthy subscription, and more.

Each finding has a stable code (PF001...), a severity (blocker, critical,
warning, info), the objects involved and a remedy. The connections are
read-only. --target is optional: without it the target rules are skipped.

Exit codes: 0 no blocker or critical finding, 1 at least one, 2 error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPreflight(cmd.Context(), cmd, o)
		},
	}
	o.conn.register(cmd, true)
	o.out.register(cmd, report.VerifyFormats...)
	fl := cmd.Flags()
	fl.StringArrayVarP(&o.tables, "table", "t", nil, "check only tables matching this glob (schema.name or name; repeatable)")
	fl.StringArrayVar(&o.exclude, "exclude", nil, "skip tables matching this glob (repeatable)")
	fl.DurationVar(&o.longTransaction, "long-transaction", preflight.DefaultLongTransaction, "report transactions open longer than this")
	fl.StringVar(&o.maxSlotLag, "max-slot-lag", "1GB", "report a subscription slot lagging more than this (bytes, kB, MB, GB)")
	fl.StringSliceVar(&o.ignore, "ignore", nil, "leave out findings with these codes (e.g. PF020,PF019)")
	return cmd
}

func runPreflight(ctx context.Context, cmd *cobra.Command, o *preflightOptions) (err error) {
	sel := catalog.Selection{Include: o.tables, Exclude: o.exclude}
	if err := sel.Validate(); err != nil {
		return flagErrorf("%v", err)
	}
	lag, err := parsePreflightSize(o.maxSlotLag)
	if err != nil {
		return flagErrorf("bad --max-slot-lag %q: %v (use e.g. 512MB or 2GB)", o.maxSlotLag, err)
	}
	if o.longTransaction <= 0 {
		return flagErrorf("bad --long-transaction %s: must be positive", o.longTransaction)
	}
	valid := map[string]bool{}
	for _, c := range preflight.ValidCodes() {
		valid[c] = true
	}
	for _, c := range o.ignore {
		if !valid[strings.ToUpper(c)] {
			return flagErrorf("unknown code %q in --ignore: codes are %s", c, strings.Join(preflight.ValidCodes(), ", "))
		}
	}
	srcDSN, err := o.conn.sourceDSN()
	if err != nil {
		return err
	}
	// The target is optional here: without it the target rules are skipped.
	dstDSN := dbconn.Resolve(o.conn.target, "PGVERIFY_TARGET")
	out, err := o.out.start(cmd.OutOrStdout())
	if err != nil {
		return err
	}
	defer func() { err = out.close(err) }()

	src, err := dbconn.Connect(ctx, srcDSN, o.conn.options("source", true))
	if err != nil {
		return err
	}
	defer src.Close(context.Background())
	var dst *pgx.Conn
	if dstDSN != "" {
		if dst, err = dbconn.Connect(ctx, dstDSN, o.conn.options("target", true)); err != nil {
			return err
		}
		defer dst.Close(context.Background())
		if err := dbconn.CheckDistinct(ctx, src, dst); err != nil {
			return err
		}
	}
	res, err := preflight.Run(ctx, src, dst, preflight.Options{
		Selection:       sel,
		LongTransaction: o.longTransaction,
		MaxSlotLag:      lag,
		Ignore:          o.ignore,
	})
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	if err := out.finish(func(w io.Writer) error { return report.Preflight(w, o.out.format, res) }); err != nil {
		return err
	}
	if res.Failed() {
		return errFindings
	}
	return nil
}

// parsePreflightSize reads a byte size: a number with an optional unit
// B, kB, MB, GB or TB (powers of 1024, as Postgres reads them).
func parsePreflightSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a positive size")
	}
	return n * mult, nil
}
