package main

import (
	"strings"

	"github.com/spf13/cobra"
)

func newSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Lint schema dumps and diff two catalogs",
		// Without RunE cobra prints the help and exits 0 for any argument,
		// so `pgverify schema lnt dump.sql` would pass a CI step.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownSubcommand(cmd, args[0])
		},
	}
	cmd.AddCommand(newSchemaLintCmd(), newSchemaDiffCmd())
	return cmd
}

// unknownSubcommand is the usage error for `pgverify PARENT TYPO`.
func unknownSubcommand(cmd *cobra.Command, name string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	cmd.SuggestionsMinimumDistance = 2
	msg := "use " + strings.Join(names, " or ")
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg = "did you mean " + strings.Join(s, " or ") + "?"
	}
	return flagErrorf("unknown command %q for %q: %s", name, cmd.CommandPath(), msg)
}
