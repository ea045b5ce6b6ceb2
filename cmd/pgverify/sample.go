package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/sampler"
)

// SampleOptions are the inputs of `pgverify sample`.
type SampleOptions struct {
	Conn           connFlags
	Out            outputFlags
	Tables         []string
	Exclude        []string
	Rows           int64
	Percent        float64
	Method         string
	Seed           int64
	Jobs           int
	MaxDiffs       int
	Rechecks       int
	CatchUpTimeout time.Duration

	stdout io.Writer
}

func newSampleCmd() *cobra.Command {
	opts := &SampleOptions{}
	cmd := &cobra.Command{
		Use:   "sample [--rows N | --percent P]",
		Short: "Compare a random sample of rows and state what it proves",
		Long: `Draw a random sample of rows on the source (TABLESAMPLE with a seed, so a run
can be repeated), read the rows with the same primary keys on the target,
compare the full rows exactly (the same equality as pgverify tables), and
state what the sample proves, per table and overall, e.g.

  0 of 10,000 sampled rows differ: with 95% confidence fewer than 0.03% of rows differ

(the exact one-sided Clopper-Pearson bound). BERNOULLI sampling, the default,
draws rows independently, which the bound assumes; --method system samples
whole blocks, cheaper but the bound is then approximate. A table smaller than
the sample is compared in full. Tables without a primary key are skipped.

When the target subscribes to the source, differing rows are re-checked
after the subscriber has caught up. The sample covers the source's rows:
rows that exist only on the target are found by pgverify tables.

Exit status: 0 no sampled row differs, 1 some differ, 2 could not verify.`,
		Example: `  pgverify sample --source postgres://verify@old/app --target postgres://verify@new/app
  pgverify sample --rows 50000 --table 'public.orders' --seed 1234
  pgverify sample --percent 1 --method system --format json -o sample.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runSample(cmd.Context(), cmd, opts)
		},
	}
	opts.Conn.register(cmd, true)
	opts.Out.register(cmd, report.VerifyFormats...)
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Tables, "table", "t", nil, "sample only tables matching schema.name (glob; repeatable)")
	f.StringArrayVar(&opts.Exclude, "exclude", nil, "skip tables matching schema.name (glob; repeatable)")
	f.Int64Var(&opts.Rows, "rows", sampler.DefaultRows, "rows to sample per table")
	f.Float64Var(&opts.Percent, "percent", 0, "sample this percentage of each table's rows instead of --rows (0 < P <= 100)")
	f.StringVar(&opts.Method, "method", string(sampler.Bernoulli), "bernoulli (independent rows, exact bound) or system (whole blocks, cheaper, approximate bound)")
	f.Int64Var(&opts.Seed, "seed", 0, "sampling seed, to repeat a run (default: random, printed)")
	f.IntVarP(&opts.Jobs, "jobs", "j", 4, "tables sampled at once (each opens one connection per side)")
	f.IntVar(&opts.MaxDiffs, "max-diffs", 100, "differing rows listed per table")
	f.IntVar(&opts.Rechecks, "rechecks", 3, "re-reads of differing rows after the subscriber caught up (live replication only)")
	f.DurationVar(&opts.CatchUpTimeout, "catchup-timeout", 60*time.Second, "longest wait for the subscriber to catch up, per wait")
	cmd.MarkFlagsMutuallyExclusive("rows", "percent")
	return cmd
}

func runSample(ctx context.Context, cmd *cobra.Command, opts *SampleOptions) (err error) {
	if cmd.Flags().Changed("percent") && (opts.Percent <= 0 || opts.Percent > 100) {
		return flagErrorf("--percent must be above 0 and at most 100, got %g", opts.Percent)
	}
	if opts.Percent == 0 && opts.Rows < 1 {
		return flagErrorf("--rows must be at least 1, got %d", opts.Rows)
	}
	method := sampler.Method(opts.Method)
	if method != sampler.Bernoulli && method != sampler.System {
		return flagErrorf("unknown --method %q: use bernoulli or system", opts.Method)
	}
	if cmd.Flags().Changed("seed") && (opts.Seed < 0 || opts.Seed > sampler.MaxSeed) {
		return flagErrorf("--seed must be between 0 and %d, got %d", int64(sampler.MaxSeed), opts.Seed)
	}
	if opts.Jobs < 1 || opts.Jobs > 64 {
		return flagErrorf("--jobs must be between 1 and 64, got %d", opts.Jobs)
	}
	if opts.MaxDiffs < 1 {
		return flagErrorf("--max-diffs must be at least 1, got %d", opts.MaxDiffs)
	}
	if opts.Rechecks < 0 {
		return flagErrorf("--rechecks must not be negative")
	}
	sel := catalog.Selection{Include: opts.Tables, Exclude: opts.Exclude}
	if err := sel.Validate(); err != nil {
		return flagErrorf("%v", err)
	}
	srcDSN, err := opts.Conn.sourceDSN()
	if err != nil {
		return err
	}
	dstDSN, err := opts.Conn.targetDSN()
	if err != nil {
		return err
	}
	out, err := opts.Out.start(opts.stdout)
	if err != nil {
		return err
	}
	defer func() { err = out.close(err) }()
	if err := opts.Conn.checkPair(ctx); err != nil {
		return err
	}
	seed := opts.Seed
	if !cmd.Flags().Changed("seed") {
		// A fresh seed each run; it is printed so the run can be repeated.
		n, err := rand.Int(rand.Reader, big.NewInt(1<<31))
		if err != nil {
			return fmt.Errorf("choosing a seed: %w", err)
		}
		seed = n.Int64()
	}
	rows := opts.Rows
	if opts.Percent > 0 {
		rows = 0
	}
	res, err := sampler.Run(ctx, sampler.Options{
		SourceDSN:      srcDSN,
		TargetDSN:      dstDSN,
		SourceConn:     opts.Conn.options("source", true),
		TargetConn:     opts.Conn.options("target", true),
		Selection:      sel,
		Rows:           rows,
		Percent:        opts.Percent,
		Method:         method,
		Seed:           seed,
		Jobs:           opts.Jobs,
		MaxDiffs:       opts.MaxDiffs,
		Rechecks:       opts.Rechecks,
		CatchUpTimeout: opts.CatchUpTimeout,
	})
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if err := out.finish(func(w io.Writer) error { return report.Sample(w, opts.Out.format, res) }); err != nil {
		return err
	}
	switch {
	case res.HasDifferences():
		return errFindings
	case res.Incomplete():
		return fmt.Errorf("%d of %d tables could not be sampled (see the report)", res.Summary.Errors, res.Summary.Tables)
	case res.Summary.Tables == 0:
		return opts.Conn.noTablesError(ctx, sel, "--table")
	case res.Summary.Skipped == res.Summary.Tables:
		return fmt.Errorf("nothing sampled: all %d table(s) were skipped (no key to look rows up by, see the report); compare them with pgverify tables", res.Summary.Tables)
	case res.Summary.Sampled == 0:
		return fmt.Errorf("nothing sampled: 0 rows drawn from %d table(s) (empty, or --percent too small); raise --rows or --percent, or use pgverify tables", res.Summary.Tables-res.Summary.Skipped)
	}
	return nil
}
