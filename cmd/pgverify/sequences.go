package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Stub: replaced by the real command.
func newSequencesCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sequences",
		Short:  "not implemented yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("sequences: not implemented yet") },
	}
}
