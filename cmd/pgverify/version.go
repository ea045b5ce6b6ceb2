package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at build time (make build does):
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.commit=$(git rev-parse HEAD)" ./cmd/pgverify
//
// Left empty, they come from the module version and the vcs.revision Go
// embeds when it builds inside a git checkout.
var (
	version = ""
	commit  = ""
)

// versionString is "v1.2.0 (commit 3e06bc1…)", with ", modified" when built
// from a dirty tree and "commit unknown" when nothing recorded it.
func versionString() string {
	ver, rev, dirty := version, commit, false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && bi.Main.Version != "" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.modified":
				dirty = commit == "" && s.Value == "true"
			}
		}
	}
	if ver == "" {
		ver = "(devel)"
	}
	if rev == "" {
		return ver + " (commit unknown)"
	}
	if dirty {
		return fmt.Sprintf("%s (commit %s, modified)", ver, rev)
	}
	return fmt.Sprintf("%s (commit %s)", ver, rev)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit pgverify was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "pgverify "+versionString())
			return err
		},
	}
}
