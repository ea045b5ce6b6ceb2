package main

import (
	"strings"
	"testing"
)

// Shell completion is cobra's: `pgverify completion bash|zsh|fish|powershell`.
func TestCompletion(t *testing.T) {
	code, out, errOut := runCLI("completion", "bash")
	if code != 0 || errOut != "" || !strings.Contains(out, "# bash completion V2 for pgverify") || !strings.Contains(out, "__start_pgverify") {
		t.Fatalf("bash: exit %d, stderr %q, script:\n%.300s", code, errOut, out)
	}
	for shell, marker := range map[string]string{"zsh": "#compdef pgverify", "fish": "complete -c pgverify"} {
		if code, out, _ := runCLI("completion", shell); code != 0 || !strings.Contains(out, marker) {
			t.Errorf("%s: exit %d, no %q", shell, code, marker)
		}
	}
	// Listed in help, and completes subcommands and --format values.
	if _, out, _ := runCLI("--help"); !strings.Contains(out, "completion") {
		t.Errorf("completion not listed in --help:\n%s", out)
	}
	_, out, _ = runCLI("__complete", "sch")
	if !strings.Contains(out, "schema") {
		t.Errorf("__complete sch: %q", out)
	}
	if code, _, errOut := runCLI("completion", "tcsh"); code != 2 || errOut == "" {
		t.Errorf("completion tcsh: exit %d, stderr %q", code, errOut)
	}
}
