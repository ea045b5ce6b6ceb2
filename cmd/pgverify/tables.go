package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Stub: replaced by the real command.
func newTablesCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "tables",
		Short:  "not implemented yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("tables: not implemented yet") },
	}
}
