package main

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgverify/pgverify/failover"
	"github.com/pgverify/pgverify/failover/pgbouncer"
	"github.com/pgverify/pgverify/failover/proxyctl"
	"github.com/pgverify/pgverify/report"
	"github.com/pgverify/pgverify/sequences"
)

// SwitchOptions are the inputs of `pgverify switch`.
type SwitchOptions struct {
	Conn        connFlags
	Out         outputFlags
	Proxies     []string
	Bouncers    []string
	ReverseConn string
	Apps        []string
	Grace       time.Duration
	Timeout     time.Duration
	Margin      int64
	Gate        string
	PostGate    bool
	Reverse     bool
	KeepForward bool
	DryRun      bool
	Watch       time.Duration
	MaxLag      int64
	Expect      int

	stdout io.Writer
}

func newSwitchCmd() *cobra.Command {
	opts := &SwitchOptions{}
	cmd := &cobra.Command{
		Use:   "switch --source DSN --target DSN --proxy ADMIN_ADDR [--proxy ADMIN_ADDR]...",
		Short: "Switch the application from the source to the target through pgverify proxy, proving nothing is lost",
		Long: `Move every session of one or more pgverify proxies from the source to the
target cluster, between transactions, and prove on the way that nothing was
lost. Each step is timed and reported:

before the pause (no impact): the subscription is enabled and streaming with
every table ready, the lag is below --max-lag, the schemas match, the data
gate (--gate) passes, new sessions open on the target, a marker row makes the
round trip in less than half the --timeout;
inside the pause (one deadline, --timeout): pause every proxy, terminate the
transactions still open after --grace, fence the source (no other session
holds a transaction id; named if one does), write a marker row on the source
and wait until the target shows it, then flush the target's WAL, move every
sequence forward (--sequence-margin), create reverse replication (target ->
source, no copy), switch every proxy and resume;
after: watch the old cluster for stray writes, drop the forward subscription,
and with --post-gate run the gate in the new direction.

Any failure before the resume rolls back: every proxy resumes on the source,
nothing is lost. Ctrl-C inside the pause rolls back too. See docs/switch.md.

Exit status: 0 switched (or --dry-run: ready), 1 a check failed, rolled back,
or stray writes after the switch, 2 could not run (nothing paused).`,
		Example: `  pgverify switch --source postgres://admin@old/app --target postgres://admin@new/app --proxy 10.0.0.5:6433
  pgverify switch --proxy 10.0.0.5:6433 --proxy 10.0.0.6:6433 --grace 1s --timeout 3s --gate sample
  pgverify switch --proxy 127.0.0.1:6433 --dry-run --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runSwitch(cmd.Context(), opts)
		},
	}
	opts.Conn.register(cmd, true)
	opts.Out.register(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&opts.Proxies, "proxy", nil, "admin console of a pgverify proxy: host:port (user and password of --source) or a DSN (repeatable)")
	f.StringVar(&opts.ReverseConn, "reverse-conninfo", "", "CONNECTION the source's server uses to reach the target for reverse replication (default --target), e.g. with passfile=FILE")
	f.StringArrayVar(&opts.Bouncers, "pgbouncer", nil, "a PgBouncer: 'ADMIN_DSN;ini=FILE;db=NAME' or 'ADMIN_DSN;switch-cmd=CMD;db=NAME' (repeatable; see docs/fleet.md)")
	f.StringArrayVar(&opts.Apps, "app", nil, "control endpoint of an application using failover/pgxswitch, http://host:port, token in $PGVERIFY_APP_TOKEN (repeatable)")
	f.DurationVar(&opts.Grace, "grace", 2*time.Second, "in-flight transactions may run this long into the pause before they are terminated")
	f.DurationVar(&opts.Timeout, "timeout", 5*time.Second, "the longest the pause may last; past it, roll back")
	f.Int64Var(&opts.Margin, "sequence-margin", sequences.DefaultMargin, "added above the highest used value of every sequence (>= 0)")
	f.StringVar(&opts.Gate, "gate", "tables", "data check before the pause: tables, sample or none")
	f.BoolVar(&opts.PostGate, "post-gate", false, "run the data gate again after the switch, target -> source")
	f.BoolVar(&opts.Reverse, "reverse-replication", true, "replicate the target back to the source after the switch")
	f.BoolVar(&opts.KeepForward, "keep-forward", false, "keep the (disabled) forward subscription instead of dropping it")
	f.BoolVar(&opts.DryRun, "dry-run", false, "run the checks before the pause only; pause nothing")
	f.DurationVar(&opts.Watch, "watch", 2*time.Second, "watch the old cluster for stray writes this long after the switch (0: no watch)")
	f.Int64Var(&opts.MaxLag, "max-lag", 16<<20, "largest replication lag in bytes the checks accept")
	f.IntVar(&opts.Expect, "expect", 0, "the fleet's size: refuse to start unless exactly N traffic controllers are given (0: no check)")
	return cmd
}

func runSwitch(ctx context.Context, opts *SwitchOptions) (err error) {
	if len(opts.Proxies)+len(opts.Bouncers)+len(opts.Apps) == 0 {
		return flagErrorf("nothing to switch: pass --proxy ADMIN_ADDR (pgverify proxy's admin console), --pgbouncer SPEC or --app URL at least once")
	}
	if n := len(opts.Proxies) + len(opts.Bouncers) + len(opts.Apps); opts.Expect < 0 || (opts.Expect > 0 && n != opts.Expect) {
		return flagErrorf("--expect %d, but %d traffic controller(s) given (--proxy, --pgbouncer, --app): name every member of the fleet", opts.Expect, n)
	}
	var bouncers []pgbouncer.Spec
	for _, b := range opts.Bouncers {
		s, err := pgbouncer.ParseSpec(b)
		if err != nil {
			return flagErrorf("%v", err)
		}
		bouncers = append(bouncers, s)
	}
	appToken := os.Getenv("PGVERIFY_APP_TOKEN")
	if len(opts.Apps) > 0 && appToken == "" {
		return flagErrorf("--app needs the control token in PGVERIFY_APP_TOKEN")
	}
	if opts.Margin < 0 {
		return flagErrorf("--sequence-margin must be >= 0, got %d", opts.Margin)
	}
	if opts.Grace <= 0 || opts.Timeout <= 0 {
		return flagErrorf("--grace and --timeout must be positive")
	}
	if opts.Grace >= opts.Timeout {
		return flagErrorf("--grace (%s) must be shorter than --timeout (%s)", opts.Grace, opts.Timeout)
	}
	gate := failover.Gate(opts.Gate)
	switch gate {
	case failover.GateTables, failover.GateSample, failover.GateNone:
	default:
		return flagErrorf("--gate must be tables, sample or none, got %q", opts.Gate)
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

	var drivers []failover.Driver
	defer func() {
		for _, d := range drivers {
			_ = d.Close()
		}
	}()
	for _, p := range opts.Proxies {
		dsn, err := proxyctl.DSN(p, srcDSN)
		if err != nil {
			out.abort()
			return flagErrorf("%v", err)
		}
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := proxyctl.Open(octx, dsn)
		cancel()
		if err != nil {
			out.abort()
			return err
		}
		drivers = append(drivers, c)
	}
	for _, s := range bouncers {
		drivers = append(drivers, failover.PgBouncerDriver(s))
	}
	for _, a := range opts.Apps {
		drivers = append(drivers, failover.AppDriver(a, appToken))
	}
	watch := opts.Watch
	if watch == 0 {
		watch = -1
	}
	res, err := failover.Run(ctx, failover.Options{
		SourceDSN: srcDSN, TargetDSN: dstDSN, Drivers: drivers, Grace: opts.Grace, Timeout: opts.Timeout,
		SequenceMargin: opts.Margin, Gate: gate, PostGate: opts.PostGate, Reverse: opts.Reverse, KeepForward: opts.KeepForward,
		DryRun: opts.DryRun, MaxLag: opts.MaxLag, Watch: watch, ReverseConnInfo: opts.ReverseConn, Expect: opts.Expect,
		Conn: opts.Conn.options("", false),
	})
	if err != nil {
		out.abort()
		var fe *failover.Err
		if errors.As(err, &fe) {
			return fe.Unwrap()
		}
		return err
	}
	if err := out.finish(func(w io.Writer) error { return report.Switch(w, opts.Out.format, res) }); err != nil {
		return err
	}
	if report.NewOutcome(report.SwitchVerdict(res)).ExitCode != exitOK {
		return errFindings
	}
	return nil
}
