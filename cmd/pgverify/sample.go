package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Stub: replaced by the real command.
func newSampleCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "sample",
		Short:  "not implemented yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("sample: not implemented yet") },
	}
}
