package report

import (
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/pgverify/pgverify/schema/lint"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/) for code
// scanning: only the properties pgverify fills.

// SarifLog is the top-level SARIF document.
type SarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []SarifRun `json:"runs"`
}

// SarifRun is one run of one tool.
type SarifRun struct {
	Tool       SarifTool     `json:"tool"`
	ColumnKind string        `json:"columnKind"`
	Results    []SarifResult `json:"results"`
}

// SarifTool names the tool and its rules.
type SarifTool struct {
	Driver SarifDriver `json:"driver"`
}

// SarifDriver is the tool component.
type SarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []SarifRule `json:"rules"`
}

// SarifRule is a reportingDescriptor.
type SarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     SarifText       `json:"shortDescription"`
	FullDescription      SarifText       `json:"fullDescription"`
	Help                 SarifText       `json:"help"`
	DefaultConfiguration SarifRuleConfig `json:"defaultConfiguration"`
}

// SarifRuleConfig is a rule's default level.
type SarifRuleConfig struct {
	Level string `json:"level"`
}

// SarifText is a message string.
type SarifText struct {
	Text string `json:"text"`
}

// SarifResult is one finding.
type SarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             SarifText         `json:"message"`
	Locations           []SarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

// SarifLocation is a physical and/or logical location.
type SarifLocation struct {
	PhysicalLocation *SarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []SarifLogical `json:"logicalLocations,omitempty"`
}

// SarifPhysical is a file region.
type SarifPhysical struct {
	ArtifactLocation SarifArtifact `json:"artifactLocation"`
	Region           *SarifRegion  `json:"region,omitempty"`
}

// SarifArtifact is a file URI.
type SarifArtifact struct {
	URI string `json:"uri"`
}

// SarifRegion is the start of a finding.
type SarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// SarifLogical is a database object.
type SarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// LintSARIF renders the findings as SARIF 2.1.0.
func LintSARIF(w io.Writer, r *lint.Result) error {
	return writeJSON(w, LintSarifLog(r))
}

// LintSarifLog builds the SARIF document.
func LintSarifLog(r *lint.Result) SarifLog {
	driver := SarifDriver{Name: "pgverify", InformationURI: "https://github.com/pgverify/pgverify/blob/main/docs/schema-lint.md"}
	index := map[string]int{}
	for i, rule := range lint.Rules {
		index[rule.Code] = i
		driver.Rules = append(driver.Rules, SarifRule{
			ID: rule.Code, Name: rule.Name,
			ShortDescription:     SarifText{rule.Title},
			FullDescription:      SarifText{rule.Description},
			Help:                 SarifText{rule.Remediation},
			DefaultConfiguration: SarifRuleConfig{Level: string(rule.Severity)},
		})
	}
	results := []SarifResult{}
	for _, f := range r.Findings {
		res := SarifResult{
			RuleID: f.Code, RuleIndex: index[f.Code], Level: string(f.Severity),
			Message:             SarifText{f.Message},
			PartialFingerprints: map[string]string{"pgverifyKey/v1": f.Key},
		}
		loc := SarifLocation{}
		if f.File != "" {
			loc.PhysicalLocation = &SarifPhysical{ArtifactLocation: SarifArtifact{URI: sarifURI(f.File)}}
			if f.Line > 0 {
				loc.PhysicalLocation.Region = &SarifRegion{StartLine: f.Line, StartColumn: f.Col}
			}
		}
		if f.Object != "" {
			kind, name := "function", lintObjectName(f.Object)
			if name == f.Object {
				kind = "object"
			}
			loc.LogicalLocations = []SarifLogical{{FullyQualifiedName: name, Kind: kind}}
		}
		res.Locations = []SarifLocation{loc}
		props := map[string]any{}
		if len(f.Chain) > 0 {
			props["chain"] = f.Chain
		}
		if f.Fix != "" {
			props["fix"] = f.Fix
		}
		if len(props) > 0 {
			res.Properties = props
		}
		results = append(results, res)
	}
	return SarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []SarifRun{{Tool: SarifTool{Driver: driver}, ColumnKind: "unicodeCodePoints", Results: results}},
	}
}

// sarifURI turns a path into a URI reference: relative paths stay relative
// (resolved against the checkout by code scanning), absolute ones get file://.
func sarifURI(p string) string {
	if p == "<stdin>" || p == "-" {
		return "stdin"
	}
	p = filepath.ToSlash(p)
	if strings.HasPrefix(p, "/") {
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}
