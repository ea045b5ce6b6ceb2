package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every verifying command (and replicate, whose gates verify) takes the
// CI formats; schema lint adds SARIF.
func TestEveryVerifyingCommandHasTheCIFormats(t *testing.T) {
	root := newRootCmd()
	for _, path := range []string{"tables", "sample", "watermark", "sequences", "schema diff", "schema lint", "preflight", "replicate"} {
		cmd, _, err := root.Find(strings.Fields(path))
		if err != nil {
			t.Fatal(err)
		}
		f := cmd.Flags().Lookup("format")
		if f == nil {
			t.Errorf("%s: no --format", path)
			continue
		}
		want := "output format: text|json|junit|markdown"
		if path == "schema lint" {
			want = "output format: text|json|sarif|junit|markdown"
		}
		if f.Usage != want {
			t.Errorf("%s: --format usage %q, want %q", path, f.Usage, want)
		}
		for _, v := range []string{"junit", "markdown", "json", "text"} {
			if err := f.Value.Set(v); err != nil {
				t.Errorf("%s --format %s: %v", path, v, err)
			}
		}
		if err := f.Value.Set("xml"); err == nil {
			t.Errorf("%s --format xml accepted", path)
		}
	}
}

// Any other command with --format refuses the CI formats rather than print
// text for them: they come with an adapter in report/ci.go.
func TestOnlyCommandsWithAdaptersTakeTheCIFormats(t *testing.T) {
	have := map[string]bool{"pgverify tables": true, "pgverify sample": true, "pgverify watermark": true, "pgverify sequences": true,
		"pgverify schema diff": true, "pgverify schema lint": true, "pgverify preflight": true, "pgverify replicate": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if f := c.Flags().Lookup("format"); f != nil && !have[c.CommandPath()] {
			if err := f.Value.Set("junit"); err == nil {
				t.Errorf("%s takes --format junit but has no JUnit adapter", c.CommandPath())
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
}
