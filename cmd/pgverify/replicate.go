package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/replicate"
	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/watermark"
)

// ReplicateOptions are the inputs of `pgverify replicate`.
type ReplicateOptions struct {
	Conn           connFlags
	Out            outputFlags
	Tables         []string
	Exclude        []string
	Publication    string
	Subscription   string
	CreateDatabase bool
	FixSearchPath  bool
	Watermarks     []string
	Verify         string
	SyncTimeout    time.Duration
	Analyze        bool
	Plan           bool
	PgDump         string
	SkipLint       bool
	NoProgress     bool
	SubConnInfo    string

	stdout, stderr io.Writer
}

func newReplicateCmd() *cobra.Command {
	opts := &ReplicateOptions{}
	cmd := &cobra.Command{
		Use:   "replicate --source DSN --target DSN",
		Short: "Set up logical replication to a new major, step by step, and prove nothing was lost",
		Long: `Move a database to another cluster through logical replication and prove it:
preflight on both sides; the target database (--create-database); the roles
the schema needs; the schema (pg_dump --schema-only | psql) after a lint gate
for unqualified function references (--fix-search-path pins search_path on
the target only); a schema diff; a publication on the source (the only change
ever made there) and a subscription on the target with copy_data; the initial
sync with progress, and a diagnosis when a table does not sync; then the
gates: watermarks, tables (or sample) and a sequences report; ANALYZE.

Every step looks at the catalogs and does only what is missing: a run that
was interrupted resumes when started again. --plan prints the steps it would
take and changes nothing. See docs/replicate.md.

Exit status: 0 every gate passed, 1 a gate failed or a diagnosis was made,
2 could not run.`,
		Example: `  pgverify replicate --source postgres://app@old/shop --target postgres://app@new/shop --create-database
  pgverify replicate --plan --source ... --target ...
  pgverify replicate --fix-search-path --watermark billing.transactions:id --verify sample ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runReplicate(cmd.Context(), opts)
		},
	}
	opts.Conn.register(cmd, true)
	opts.Out.register(cmd, report.VerifyFormats...)
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Tables, "table", "t", nil, "replicate only tables matching schema.name (glob; repeatable)")
	f.StringArrayVar(&opts.Exclude, "exclude", nil, "skip tables matching schema.name (glob; repeatable)")
	f.StringVar(&opts.Publication, "publication", replicate.DefaultName, "publication name on the source")
	f.StringVar(&opts.Subscription, "subscription", replicate.DefaultName, "subscription name on the target (and its slot on the source)")
	f.BoolVar(&opts.CreateDatabase, "create-database", false, "create the target database when missing (encoding and locale of the source)")
	f.BoolVar(&opts.FixSearchPath, "fix-search-path", false, "pin search_path on the target's functions the lint gate names (the source is never altered)")
	f.StringArrayVar(&opts.Watermarks, "watermark", nil, "watermark gate SCHEMA.TABLE:COLUMN (repeatable)")
	f.StringVar(&opts.Verify, "verify", replicate.VerifyTables, "row verification gate: tables, sample or none")
	f.DurationVar(&opts.SyncTimeout, "sync-timeout", replicate.DefaultSyncTimeout, "longest wait for the initial sync and catch-up")
	f.BoolVar(&opts.Analyze, "analyze", true, "ANALYZE the target at the end")
	f.BoolVar(&opts.Plan, "plan", false, "print the steps that would run from the current state; change nothing")
	f.StringVar(&opts.PgDump, "pg-dump", "", "pg_dump to use (its major must be >= the source's; default: pg_dump on PATH)")
	f.BoolVar(&opts.SkipLint, "skip-lint", false, "skip the lint gate on the source schema")
	f.StringVar(&opts.SubConnInfo, "subscription-conninfo", "", "CONNECTION the target server uses to reach the source (default --source), e.g. with passfile=FILE the target's OS user can read")
	f.BoolVar(&opts.NoProgress, "no-progress", false, "no sync progress on stderr")
	return cmd
}

// parseWatermarks reads SCHEMA.TABLE:COLUMN.
func parseWatermarks(in []string) ([]watermark.Check, error) {
	var out []watermark.Check
	for _, w := range in {
		i := strings.LastIndexByte(w, ':')
		if i <= 0 || i == len(w)-1 {
			return nil, flagErrorf("--watermark %q: use SCHEMA.TABLE:COLUMN, e.g. billing.transactions:id", w)
		}
		out = append(out, watermark.Check{Table: w[:i], Column: w[i+1:]})
	}
	return out, nil
}

func runReplicate(ctx context.Context, opts *ReplicateOptions) (err error) {
	src, err := opts.Conn.sourceDSN()
	if err != nil {
		return err
	}
	dst, err := opts.Conn.targetDSN()
	if err != nil {
		return err
	}
	switch opts.Verify {
	case replicate.VerifyTables, replicate.VerifySample, replicate.VerifyNone:
	default:
		return flagErrorf("--verify %q: use tables, sample or none", opts.Verify)
	}
	if opts.SyncTimeout <= 0 {
		return flagErrorf("--sync-timeout must be positive, got %s", opts.SyncTimeout)
	}
	wms, err := parseWatermarks(opts.Watermarks)
	if err != nil {
		return err
	}
	sel := catalog.Selection{Include: opts.Tables, Exclude: opts.Exclude}
	if err := sel.Validate(); err != nil {
		return flagErrorf("%w", err)
	}
	guard := dbconn.Options{StatementTimeout: opts.Conn.statementTimeout, LockTimeout: opts.Conn.lockTimeout}
	ro := replicate.Options{
		SourceDSN: src, TargetDSN: dst, SourceConn: guard, TargetConn: guard, Selection: sel,
		Publication: opts.Publication, Subscription: opts.Subscription,
		CreateDatabase: opts.CreateDatabase, FixSearchPath: opts.FixSearchPath, Watermarks: wms,
		Verify: opts.Verify, SyncTimeout: opts.SyncTimeout, Analyze: opts.Analyze, Plan: opts.Plan,
		PgDump: opts.PgDump, SkipLint: opts.SkipLint, SubscriptionConnInfo: opts.SubConnInfo,
	}
	if !opts.NoProgress {
		ro.Progress = report.ReplicateProgress(opts.stderr, report.IsTerminal(opts.stderr))
	}
	// The report destination is checked before any work; the file is
	// written only once the report is complete.
	out, err := opts.Out.start(opts.stdout)
	if err != nil {
		return err
	}
	defer func() { err = out.close(err) }()
	res, runErr := replicate.Run(ctx, ro)
	if f, ok := ro.Progress.(interface{ Finish() }); ok {
		f.Finish()
	}
	if runErr != nil {
		out.abort()
		return runErr
	}
	if err := out.finish(func(w io.Writer) error { return report.Replicate(w, opts.Out.format, res) }); err != nil {
		return err
	}
	if res.Failed() {
		return errFindings
	}
	return nil
}
