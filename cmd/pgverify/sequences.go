package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/sequences"
)

// SequencesOptions are the inputs of `pgverify sequences`.
type SequencesOptions struct {
	Conn      connFlags
	Out       outputFlags
	Sequences []string
	Exclude   []string
	Sync      bool
	Margin    int64

	stdout io.Writer
}

func newSequencesCmd() *cobra.Command {
	opts := &SequencesOptions{}
	cmd := &cobra.Command{
		Use:   "sequences [--sync] [--margin N]",
		Short: "Check that no target sequence can hand out a key already used; --sync moves them",
		Long: `Logical replication does not carry sequences (up to PostgreSQL 18), so after a
switch the first insert can hit a duplicate key. List every sequence on both
sides (serial, identity or unowned) and call a target sequence safe when its
next value is above both the source's last value and the current max() of
every target column that draws from it (owned by it, or calling nextval() on it
in a default).

--sync moves every unsafe target sequence to max(source last value, target
column max) + --margin with setval(), in one transaction on the target. It
never moves a sequence backwards and a second run changes nothing. It is the
only write pgverify makes here: without --sync both connections are read-only,
and the source always is.

Exit status: 0 all safe (after --sync), 1 unsafe or missing sequences remain,
2 could not verify.`,
		Example: `  pgverify sequences --source postgres://verify@old/app --target postgres://verify@new/app
  pgverify sequences --sync --margin 10000
  pgverify sequences --sequence 'billing.*' --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runSequences(cmd.Context(), opts)
		},
	}
	opts.Conn.register(cmd, true)
	opts.Out.register(cmd, report.VerifyFormats...)
	f := cmd.Flags()
	f.BoolVar(&opts.Sync, "sync", false, "move unsafe target sequences forward (the only write; needs UPDATE on them)")
	f.Int64Var(&opts.Margin, "margin", sequences.DefaultMargin, "added above the highest used value when syncing (>= 0)")
	f.StringArrayVar(&opts.Sequences, "sequence", nil, "check only sequences matching schema.name (glob; repeatable)")
	f.StringArrayVar(&opts.Exclude, "exclude", nil, "skip sequences matching schema.name (glob; repeatable)")
	return cmd
}

func runSequences(ctx context.Context, opts *SequencesOptions) (err error) {
	if opts.Margin < 0 {
		return flagErrorf("--margin must be >= 0, got %d", opts.Margin)
	}
	sel := catalog.Selection{Include: opts.Sequences, Exclude: opts.Exclude}
	if err := sel.Validate(); err != nil {
		return flagErrorf("%v", err)
	}
	out, err := opts.Out.start(opts.stdout)
	if err != nil {
		return err
	}
	defer func() { err = out.close(err) }()
	// The target is writable only with --sync.
	src, dst, err := opts.Conn.connectPair(ctx, opts.Sync)
	if err != nil {
		return err
	}
	defer src.Close(context.Background())
	defer dst.Close(context.Background())

	so := sequences.Options{Selection: sel, Margin: opts.Margin}
	var res *sequences.Result
	if opts.Sync {
		res, err = sequences.Sync(ctx, src, dst, so)
	} else {
		res, err = sequences.Compare(ctx, src, dst, so)
	}
	if err != nil {
		out.abort()
		return err
	}
	if err := out.finish(func(w io.Writer) error { return report.Sequences(w, opts.Out.format, res) }); err != nil {
		return err
	}
	s := res.Summary()
	switch report.SequencesVerdict(s) {
	case "unsafe":
		return errFindings
	case "unverified":
		if s.Total == 0 {
			return noSequencesError(src.Config(), sel)
		}
		for _, q := range res.Sequences {
			if q.Status == sequences.Error {
				return fmt.Errorf("could not verify %d of %d sequence(s): %s", s.Error, s.Total, q.Detail)
			}
		}
	}
	return nil
}
