package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

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
	fl.DurationVar(&f.statementTimeout, "statement-timeout", dbconn.DefaultStatementTimeout, "statement_timeout for every session")
	fl.DurationVar(&f.lockTimeout, "lock-timeout", dbconn.DefaultLockTimeout, "lock_timeout for every session")
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

func (f *connFlags) options(role string, readOnly bool) dbconn.Options {
	return dbconn.Options{Role: role, StatementTimeout: f.statementTimeout, LockTimeout: f.lockTimeout, ReadOnly: readOnly}
}

// outputFlags choose the report format and destination.
type outputFlags struct {
	format report.Format
	output string
}

func (f *outputFlags) register(cmd *cobra.Command, formats ...report.Format) {
	if len(formats) == 0 {
		formats = []report.Format{report.Text, report.JSON}
	}
	f.format = report.Text
	cmd.Flags().Var(report.NewFormatValue(&f.format, formats...), "format", "output format: "+report.FormatList(formats))
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "write the report to FILE instead of stdout")
}

// open returns the report writer and a close func. The file is written only
// once the report is complete, so a failed run never truncates an old report.
func (f *outputFlags) open(stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if f.output == "" || f.output == "-" {
		return stdout, func(bool) error { return nil }, nil
	}
	tmp, err := os.CreateTemp(dirOf(f.output), ".pgverify-report-*")
	if err != nil {
		return nil, nil, fmt.Errorf("cannot write --output %s: %w", f.output, err)
	}
	return tmp, func(ok bool) error {
		if cerr := tmp.Close(); cerr != nil && ok {
			return cerr
		}
		if !ok {
			return os.Remove(tmp.Name())
		}
		return os.Rename(tmp.Name(), f.output)
	}, nil
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			if i == 0 {
				return "/"
			}
			return p[:i]
		}
	}
	return "."
}
