package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Stub: replaced by the real command.
func newWatermarkCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "watermark",
		Short:  "not implemented yet",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("watermark: not implemented yet") },
	}
}
