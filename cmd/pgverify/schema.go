package main

import "github.com/spf13/cobra"

func newSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Lint schema dumps and diff two catalogs",
	}
	cmd.AddCommand(newSchemaLintCmd(), newSchemaDiffCmd())
	return cmd
}
