package main

import (
	"strings"
	"testing"
)

// A typo in a subcommand is a usage error, never help with exit 0: a CI
// step running `pgverify schema lnt dump.sql` must fail.
func TestUnknownSubcommand(t *testing.T) {
	for _, args := range [][]string{
		{"schema", "lnt", "dump.sql"},
		{"schema", "dif"},
		{"tabels"},
		{"help", "lnt"},
		{"help", "schema", "lnt"},
	} {
		code, stdout, stderr := runCLI(args...)
		if code != exitError {
			t.Errorf("%v: exit %d, want 2 (stdout %q)", args, code, stdout)
		}
		assertOneLine(t, stderr, "unknown command", true, "")
		if stdout != "" {
			t.Errorf("%v: stdout %q, want nothing", args, stdout)
		}
	}
	if _, _, stderr := runCLI("schema", "lnt"); !strings.Contains(stderr, "did you mean lint?") {
		t.Errorf("no suggestion: %q", stderr)
	}
	if code, stdout, _ := runCLI("help", "schema", "lint"); code != exitOK || !strings.Contains(stdout, "search_path") {
		t.Errorf("pgverify help schema lint: exit %d, %q", code, stdout)
	}
	// The bare group still shows its help.
	if code, stdout, _ := runCLI("schema"); code != exitOK || !strings.Contains(stdout, "lint") {
		t.Errorf("pgverify schema: exit %d, %q", code, stdout)
	}
}

// --statement-timeout 900us used to round down to 0, which Postgres reads
// as no limit: every guard below 1ms is refused before any work.
func TestGuardTimeoutsBelowOneMillisecond(t *testing.T) {
	for _, args := range [][]string{
		{"tables", "--source", "postgres://a@127.0.0.1:1/x", "--target", "postgres://a@127.0.0.1:1/y", "--statement-timeout", "900us"},
		{"sequences", "--source", "postgres://a@127.0.0.1:1/x", "--target", "postgres://a@127.0.0.1:1/y", "--lock-timeout", "500us"},
		{"preflight", "--source", "postgres://a@127.0.0.1:1/x", "--lock-timeout", "0"},
		{"schema", "lint", "--db", "postgres://a@127.0.0.1:1/x", "--statement-timeout", "0s"},
		{"watermark", "-t", "a.b", "-c", "id", "--statement-timeout", "-1s"},
	} {
		code, _, stderr := runCLI(args...)
		if code != exitError {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		assertOneLine(t, stderr, "must be at least 1ms", true, "")
	}
}
