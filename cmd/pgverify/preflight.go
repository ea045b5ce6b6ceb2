package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Stub: replaced by the real command.
func newPreflightCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "preflight",
		Short:  "not implemented yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("preflight: not implemented yet") },
	}
}
