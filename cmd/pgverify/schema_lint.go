package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Stub: replaced by the real command.
func newSchemaLintCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "lint",
		Short:  "not implemented yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("lint: not implemented yet") },
	}
}
