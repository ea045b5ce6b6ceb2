package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pgverify/pgverify/failover/pgbouncer"
	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/report"
)

// Exit codes, the contract documented in README.md.
const (
	exitOK       = 0 // verified equal / clean
	exitFindings = 1 // differences or findings
	exitError    = 2 // could not verify: error or bad input
)

// errFindings is returned by a command that has written its report and found
// differences or findings; it maps to exit code 1 and prints nothing more.
var errFindings = errors.New("differences found")

// flagError marks bad usage: the message is followed by a usage hint.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

func flagErrorf(format string, a ...any) error { return &flagError{fmt.Errorf(format, a...)} }

// Execute runs the CLI and decides the exit code; it is the only place that does.
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	pgbouncer.RunKeeperIfAsked() // a PgBouncer pause's lease keeper is this binary too
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	initCompletionCmd(root) // after SetOut: cobra binds the script's writer here
	err := root.ExecuteContext(ctx)
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errFindings):
		return exitFindings
	}
	msg := dbconn.Redact(err.Error())
	// One line: the first line names the problem; details belong in --verbose output.
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	msg = report.Clean(msg) // names and server messages may hold escape sequences
	fmt.Fprintln(stderr, "pgverify: "+msg)
	var fe *flagError
	if errors.As(err, &fe) || isCobraUsageError(err) {
		fmt.Fprintln(stderr, "Run 'pgverify --help' for usage.")
	}
	return exitError
}

// isCobraUsageError recognises cobra's own flag and argument errors.
func isCobraUsageError(err error) bool {
	m := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand", "unknown command", "invalid argument", "flag needs an argument", "accepts ", "requires at least", "required flag", "if any flags in the group"} {
		if strings.Contains(m, p) {
			return true
		}
	}
	return false
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "pgverify",
		Short: "Prove no data was lost moving PostgreSQL through logical replication",
		Long: `pgverify compares a source and a target PostgreSQL cluster (any majors 13-18)
and proves they hold the same rows, schema and sequences, before and after a
switch. Exit codes: 0 verified, 1 differences or findings, 2 could not verify.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("pgverify {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	root.AddCommand(commands()...)
	root.SetHelpCommand(newHelpCmd())
	return root
}

// initCompletionCmd adds cobra's `completion bash|zsh|fish|powershell`
// before Execute would, so that, like `schema`, an unknown shell
// (`pgverify completion tcsh`) is a usage error, not help with exit 0.
func initCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return cmd.Help()
				}
				return unknownSubcommand(cmd, args[0])
			}
		}
	}
}

// newHelpCmd is cobra's help command, except that an unknown topic
// (`pgverify help lnt`) is a usage error, not help with exit 0.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return flagErrorf("unknown command %q: no such help topic", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}
