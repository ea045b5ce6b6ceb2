package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pgverify/pgverify/schema/lint"
)

// testdata/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 JSON schema
// (draft-07, $id https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json),
// the one GitHub code scanning validates uploads against, in its errata
// revision (message and physicalLocation carry their anyOf requirements).
// It was copied offline from a public repository's copy of that file
// (Security-Falcon/SARIFCourier) and checked against a second copy
// (AdaCore/sarif-ada, the pre-errata revision with the root moved under
// definitions): the definitions agree except for the errata.
const sarifSchemaFile = "testdata/sarif-schema-2.1.0.json"

// sarifDocs is every SARIF document the tests know: the golden files of
// schema/lint and LintSARIF of fixtures here.
func sarifDocs(t *testing.T) map[string][]byte {
	t.Helper()
	docs := map[string][]byte{}
	golden, _ := filepath.Glob("../schema/lint/testdata/golden/*.sarif")
	if len(golden) == 0 {
		t.Fatal("no golden SARIF files under ../schema/lint/testdata/golden")
	}
	for _, p := range golden {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[p] = b
	}
	for name, r := range map[string]*lint.Result{
		"fixture":     lintFixture(t),
		"no findings": {Mode: "files", Inputs: []string{"a.sql"}, PGVersion: 17, Findings: []lint.Finding{}},
		"stdin and absolute paths": {Mode: "files", Inputs: []string{"<stdin>"}, PGVersion: 16, Findings: []lint.Finding{
			{Code: lint.CodeReachable, Severity: lint.Error, Message: "m", File: "<stdin>", Line: 3, Col: 1, Key: "k1"},
			{Code: lint.CodeUnqualified, Severity: lint.Warning, Message: "m", File: "/abs/dir with space/x.sql", Line: 1, Col: 7, Key: "k2"},
		}},
	} {
		var b bytes.Buffer
		if err := LintSARIF(&b, r); err != nil {
			t.Fatal(err)
		}
		docs[name] = b.Bytes()
	}
	return docs
}

func TestSARIFValidatesAgainstTheSchema(t *testing.T) {
	f, err := os.Open(sarifSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // uri, uri-reference, date-time are checked too
	// Offline: the schema is registered under its own $id.
	const id = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
	if err := c.AddResource(id, schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range sarifDocs(t) {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s does not validate against SARIF 2.1.0: %v", name, err)
		}
	}
	// The schema is not vacuous: a broken document fails.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`))
	if sch.Validate(bad) == nil {
		t.Error("a driver without a name validated")
	}
	line0, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},
		"results":[{"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a b"},"region":{"startLine":0}}}]}]}]}`))
	if err := sch.Validate(line0); err == nil || !strings.Contains(err.Error(), "startLine") {
		t.Errorf("startLine 0 and an invalid uri: %v", err)
	}
}

// TestSARIFHasWhatGitHubRequires checks the properties GitHub code scanning
// (github/codeql-action/upload-sarif) reads or rejects an upload without,
// beyond the schema: https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
func TestSARIFHasWhatGitHubRequires(t *testing.T) {
	levels := map[string]bool{"error": true, "warning": true, "note": true, "none": true}
	for name, b := range sarifDocs(t) {
		var doc struct {
			Schema  string `json:"$schema"`
			Version string `json:"version"`
			Runs    []struct {
				Tool struct {
					Driver struct {
						Name  string `json:"name"`
						Rules []struct {
							ID                   string `json:"id"`
							ShortDescription     struct{ Text string }
							DefaultConfiguration struct{ Level string }
						} `json:"rules"`
					} `json:"driver"`
				} `json:"tool"`
				Results []struct {
					RuleID    string `json:"ruleId"`
					RuleIndex *int   `json:"ruleIndex"`
					Level     string `json:"level"`
					Message   struct {
						Text string `json:"text"`
					} `json:"message"`
					Locations []struct {
						PhysicalLocation *struct {
							ArtifactLocation struct {
								URI string `json:"uri"`
							} `json:"artifactLocation"`
							Region *struct {
								StartLine   int `json:"startLine"`
								StartColumn int `json:"startColumn"`
							} `json:"region"`
						} `json:"physicalLocation"`
					} `json:"locations"`
					PartialFingerprints map[string]string `json:"partialFingerprints"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc.Version != "2.1.0" || !strings.Contains(doc.Schema, "sarif-2.1.0") || len(doc.Runs) != 1 {
			t.Errorf("%s: version %q, $schema %q, %d runs", name, doc.Version, doc.Schema, len(doc.Runs))
			continue
		}
		run := doc.Runs[0]
		if run.Tool.Driver.Name == "" || len(run.Tool.Driver.Rules) == 0 {
			t.Errorf("%s: driver name %q, %d rules", name, run.Tool.Driver.Name, len(run.Tool.Driver.Rules))
		}
		ids := map[string]int{}
		for i, r := range run.Tool.Driver.Rules {
			if r.ID == "" || r.ShortDescription.Text == "" || !levels[r.DefaultConfiguration.Level] {
				t.Errorf("%s: rule %d: %+v", name, i, r)
			}
			ids[r.ID] = i
		}
		for i, r := range run.Results {
			idx, known := ids[r.RuleID]
			switch {
			case !known:
				t.Errorf("%s: result %d: ruleId %q is not a rule", name, i, r.RuleID)
			case r.RuleIndex == nil || *r.RuleIndex != idx:
				t.Errorf("%s: result %d: ruleIndex does not point at rule %s", name, i, r.RuleID)
			}
			if !levels[r.Level] || r.Message.Text == "" || len(r.PartialFingerprints) == 0 {
				t.Errorf("%s: result %d: level %q, message %q, fingerprints %v", name, i, r.Level, r.Message.Text, r.PartialFingerprints)
			}
			if len(r.Locations) == 0 || r.Locations[0].PhysicalLocation == nil {
				t.Errorf("%s: result %d has no physical location (code scanning needs a file)", name, i)
				continue
			}
			pl := r.Locations[0].PhysicalLocation
			if pl.ArtifactLocation.URI == "" || strings.Contains(pl.ArtifactLocation.URI, " ") {
				t.Errorf("%s: result %d: uri %q", name, i, pl.ArtifactLocation.URI)
			}
			if pl.Region == nil || pl.Region.StartLine < 1 || pl.Region.StartColumn < 0 {
				t.Errorf("%s: result %d: region %+v (startLine must be >= 1)", name, i, pl.Region)
			}
		}
	}
}
