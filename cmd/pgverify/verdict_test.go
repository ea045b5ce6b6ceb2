package main

import (
	"encoding/json"
	"testing"

	"github.com/pgverify/pgverify/report"
)

// The shared exit codes of report.Outcome are the process's.
func TestOutcomeCodes(t *testing.T) {
	if report.ExitVerified != exitOK || report.ExitFindings != exitFindings || report.ExitUnverified != exitError {
		t.Fatal("report.Exit* and the exit codes of root.go disagree")
	}
}

// Every command's JSON report carries summary.verdict and summary.exit_code,
// and they agree with the exit code.
func TestJSONVerdictEveryCommand(t *testing.T) {
	src, dst := clusterPair(t, `CREATE TABLE public.orders (id serial PRIMARY KEY, v text);`,
		`INSERT INTO public.orders (v) SELECT 'o' FROM generate_series(1, 5);`, false)
	s, d := src.DSN("app"), dst.DSN("app")
	for _, c := range []struct {
		args    []string
		verdict string
	}{
		{[]string{"tables", "--source", s, "--target", d}, "different"},
		{[]string{"sample", "--source", s, "--target", d}, "different"},
		{[]string{"sequences", "--source", s, "--target", d}, "unsafe"},
		{[]string{"watermark", "-t", "public.orders", "-c", "id", "--timeout", "1s", "--source", s, "--target", d}, "unverified"},
		{[]string{"schema", "diff", "--source", s, "--target", d}, "equal"},
		{[]string{"schema", "lint", lintFile(t)}, "clean"},
		{[]string{"preflight", "--source", s, "--target", d}, ""},
	} {
		code, stdout, stderr := runCLI(append(c.args, "--format", "json")...)
		var doc struct {
			Summary struct {
				Verdict  string
				ExitCode *int `json:"exit_code"`
			}
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Errorf("%v: exit %d, bad JSON %v: %s%s", c.args[:2], code, err, stdout, stderr)
			continue
		}
		v := doc.Summary
		if v.ExitCode == nil || *v.ExitCode != code || report.NewOutcome(v.Verdict).ExitCode != code ||
			(c.verdict != "" && v.Verdict != c.verdict) {
			t.Errorf("%v: exit %d, summary verdict %q exit_code %v, want verdict %q", c.args[:2], code, v.Verdict, v.ExitCode, c.verdict)
		}
	}
}
