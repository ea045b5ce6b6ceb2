package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Outcome is the part of every JSON report's summary that reads the same
// for every command: the verdict, in the command's own words, and the exit
// code it goes with. Each command's summary embeds it, so
// summary.verdict and summary.exit_code are always there.
//
//	command      exit 0   exit 1     exit 2
//	tables       equal    different  unverified
//	sample       equal    different  unverified
//	watermark    match    mismatch   unverified
//	sequences    safe     unsafe     unverified
//	schema diff  equal    different  -
//	schema lint  clean    findings   -
//	preflight    clean    findings   -
//	replicate    pass     fail       -        (planned, for --plan: 0)
//	switch       switched aborted    -
//	             ready    rolled_back
//	                      stray_writes
//
// "-": the command writes no report when it cannot verify; the exit code
// is 2 and stderr says why.
type Outcome struct {
	Verdict  string `json:"verdict"`
	ExitCode int    `json:"exit_code"`
}

// The exit codes an Outcome carries; cmd/pgverify maps them to the process
// exit code and checks that they agree with its own.
const (
	ExitVerified   = 0
	ExitFindings   = 1
	ExitUnverified = 2
)

var verdictExits = map[string]int{
	"equal": ExitVerified, "match": ExitVerified, "safe": ExitVerified, "clean": ExitVerified,
	"different": ExitFindings, "mismatch": ExitFindings, "unsafe": ExitFindings, "findings": ExitFindings,
	"unverified": ExitUnverified,
	"pass":       ExitVerified, "planned": ExitVerified, "fail": ExitFindings,
	// switch: switched or ready (dry run) pass; aborted before the pause,
	// rolled back inside it, or stray writes afterwards are findings.
	"switched": ExitVerified, "ready": ExitVerified,
	"aborted": ExitFindings, "rolled_back": ExitFindings, "stray_writes": ExitFindings,
}

// NewOutcome pairs a verdict with its exit code.
func NewOutcome(verdict string) Outcome {
	code, ok := verdictExits[verdict]
	if !ok {
		code = ExitUnverified // an unknown word never reads as a pass
	}
	return Outcome{Verdict: verdict, ExitCode: code}
}

// writeJSONWithSummary writes v as writeJSON does, with its top-level
// "summary" value replaced by summary, keeping every key in its place: a
// domain result's own summary gains the Outcome without moving.
func writeJSONWithSummary(w io.Writer, v, summary any) error {
	doc, err := compactJSON(v)
	if err != nil {
		return err
	}
	sum, err := compactJSON(summary)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("report: %T is not a JSON object", v)
	}
	var out bytes.Buffer
	out.WriteByte('{')
	replaced := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		key, _ := t.(string)
		if key == "summary" {
			val, replaced = sum, true
		}
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		k, _ := compactJSON(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(val)
	}
	if !replaced {
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		out.WriteString(`"summary":`)
		out.Write(sum)
	}
	out.WriteByte('}')
	var ind bytes.Buffer
	if err := json.Indent(&ind, out.Bytes(), "", "  "); err != nil {
		return err
	}
	ind.WriteByte('\n')
	_, err = w.Write(ind.Bytes())
	return err
}

// compactJSON is json.Marshal without HTML escaping, as writeJSON writes.
func compactJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
