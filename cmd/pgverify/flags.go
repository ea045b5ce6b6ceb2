package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/report"
)

// connFlags are the connection flags every command shares.
type connFlags struct {
	source, target   string
	statementTimeout time.Duration
	lockTimeout      time.Duration
}

func (f *connFlags) register(cmd *cobra.Command, withTarget bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "source database DSN (URL or key=value; default $PGVERIFY_SOURCE)")
	if withTarget {
		fl.StringVar(&f.target, "target", "", "target database DSN (URL or key=value; default $PGVERIFY_TARGET)")
	}
	guardFlag(fl, &f.statementTimeout, "statement-timeout", dbconn.DefaultStatementTimeout, "statement_timeout for every session (at least 1ms)")
	guardFlag(fl, &f.lockTimeout, "lock-timeout", dbconn.DefaultLockTimeout, "lock_timeout for every session (at least 1ms)")
}

// guardFlag registers a session guard duration. Postgres counts these in
// whole milliseconds and 0 means no limit, so a value below 1ms is refused
// at parse time rather than silently turning the guard off.
func guardFlag(fl *pflag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fl.Var(guardDuration{p}, name, usage)
}

type guardDuration struct{ d *time.Duration }

func (g guardDuration) String() string {
	if g.d == nil {
		return ""
	}
	return g.d.String()
}

func (g guardDuration) Type() string { return "duration" }

func (g guardDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration (use e.g. 30s, 5m)")
	}
	if d < time.Millisecond {
		return fmt.Errorf("must be at least 1ms (Postgres counts whole milliseconds and 0 disables the limit)")
	}
	*g.d = d
	return nil
}

// sourceDSN returns the source DSN or a usage error saying how to give one.
func (f *connFlags) sourceDSN() (string, error) {
	d := dbconn.Resolve(f.source, "PGVERIFY_SOURCE")
	if d == "" {
		return "", flagErrorf("no source database: pass --source DSN or set PGVERIFY_SOURCE")
	}
	return d, nil
}

func (f *connFlags) targetDSN() (string, error) {
	d := dbconn.Resolve(f.target, "PGVERIFY_TARGET")
	if d == "" {
		return "", flagErrorf("no target database: pass --target DSN or set PGVERIFY_TARGET")
	}
	return d, nil
}

// connectPair resolves both DSNs and opens the read-only source and the
// target (read-only unless writeTarget) at once, and refuses a target that
// is the source's database (dbconn.CheckDistinct). The caller closes both.
func (f *connFlags) connectPair(ctx context.Context, writeTarget bool) (src, dst *pgx.Conn, err error) {
	srcDSN, err := f.sourceDSN()
	if err != nil {
		return nil, nil, err
	}
	dstDSN, err := f.targetDSN()
	if err != nil {
		return nil, nil, err
	}
	// Parse both before dialling either, so a malformed DSN is always the
	// error reported, whichever server answers first.
	srcOpts, dstOpts := f.options("source", true), f.options("target", !writeTarget)
	srcCfg, err := dbconn.Config(srcDSN, srcOpts)
	if err != nil {
		return nil, nil, err
	}
	dstCfg, err := dbconn.Config(dstDSN, dstOpts)
	if err != nil {
		return nil, nil, err
	}
	var srcErr, dstErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); src, srcErr = dbconn.ConnectConfig(ctx, srcCfg, srcOpts) }()
	go func() { defer wg.Done(); dst, dstErr = dbconn.ConnectConfig(ctx, dstCfg, dstOpts) }()
	wg.Wait()
	if srcErr != nil || dstErr != nil {
		for _, c := range []*pgx.Conn{src, dst} {
			if c != nil {
				_ = c.Close(context.WithoutCancel(ctx))
			}
		}
		// The source's error first: deterministic, and the side named first.
		if srcErr != nil {
			return nil, nil, srcErr
		}
		return nil, nil, dstErr
	}
	// Different DSN text can reach one database; comparing it with itself
	// proves nothing, and sequences --sync would write to the source.
	if err := dbconn.CheckDistinct(ctx, src, dst); err != nil {
		_ = src.Close(context.WithoutCancel(ctx))
		_ = dst.Close(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	return src, dst, nil
}

// checkPair is for commands that open their own connections (tables,
// sample): it connects both sides once, read-only, only to refuse a source
// that is the target.
func (f *connFlags) checkPair(ctx context.Context) error {
	src, dst, err := f.connectPair(ctx, false)
	if err != nil {
		return err
	}
	_ = src.Close(context.WithoutCancel(ctx))
	_ = dst.Close(context.WithoutCancel(ctx))
	return nil
}

func (f *connFlags) options(role string, readOnly bool) dbconn.Options {
	return dbconn.Options{Role: role, StatementTimeout: f.statementTimeout, LockTimeout: f.lockTimeout, ReadOnly: readOnly}
}

// outputFlags choose the report format and destination.
type outputFlags struct {
	format report.Format
	output string
}

// register adds --format (text|json unless formats are given) and -o. A
// command passes report.VerifyFormats only once its report renders JUnit
// and Markdown (report/ci.go), so no command accepts a format it would
// print as text.
func (f *outputFlags) register(cmd *cobra.Command, formats ...report.Format) {
	if len(formats) == 0 {
		formats = []report.Format{report.Text, report.JSON}
	}
	f.format = report.Text
	cmd.Flags().Var(report.NewFormatValue(&f.format, formats...), "format", "output format: "+report.FormatList(formats))
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "write the report to FILE instead of stdout")
}
