package main

import (
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v9.9.9", "0123456789abcdef"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, stderr := runCLI(args...)
		if code != exitOK || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		if stdout != "pgverify v9.9.9 (commit 0123456789abcdef)\n" {
			t.Errorf("%v: %q", args, stdout)
		}
	}
	// Without -ldflags, a test binary records no commit and says so.
	version, commit = "", ""
	if _, stdout, _ := runCLI("version"); !strings.HasPrefix(stdout, "pgverify ") || !strings.Contains(stdout, "commit") {
		t.Errorf("version without ldflags: %q", stdout)
	}
}
