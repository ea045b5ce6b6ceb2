package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Stub: replaced by the real command.
func newSchemaDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "diff",
		Short:  "not implemented yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("diff: not implemented yet") },
	}
}
