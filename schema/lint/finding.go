package lint

import (
	"crypto/sha256"
	"encoding/hex"
)

// Finding is one problem the linter found.
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
	// File, Line and Col locate the finding: for file inputs in the script
	// (1-based; Col counts Unicode code points). In --db mode File is empty
	// and Line/Col count from the first line of the function body, as
	// PL/pgSQL's own error context does (0 when not inside a body).
	File string `json:"file,omitempty"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	// Object is what the finding is about: "function public.f(jsonb)" or
	// "CHECK constraint c on public.t".
	Object string `json:"object"`
	// Reference is the name as the body writes it, ReferenceKind what it
	// names (function, table, view, sequence, type, operator, ...), and
	// ResolvesTo the schema-qualified object it means on the source, when
	// the input defines it.
	Reference     string `json:"reference,omitempty"`
	ReferenceKind string `json:"reference_kind,omitempty"`
	ResolvesTo    string `json:"resolves_to,omitempty"`
	// Chain is how replication, restore or maintenance reaches the code:
	// the root first, then each function, then the reference.
	Chain       []string `json:"chain,omitempty"`
	Remediation string   `json:"remediation"`
	// Fix is the SQL that resolves the finding (also in Result.Fixes).
	Fix string `json:"fix,omitempty"`
	// Key identifies the finding across runs (not its position), for
	// baselines and SARIF partialFingerprints.
	Key string `json:"key"`

	fn         *funcObj // the function a fix would change
	suppressed bool     // by an inline ignore comment
}

func (f *Finding) setKey(parts ...string) {
	h := sha256.New()
	h.Write([]byte(f.Code))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	f.Key = hex.EncodeToString(h.Sum(nil)[:12])
}

// Fix is remediation SQL for one function, ready to run on source and target.
type Fix struct {
	Object string   `json:"object"`
	Codes  []string `json:"codes"`
	SQL    string   `json:"sql"`
	// Notes explain assumptions (e.g. a name not defined in the input).
	Notes []string `json:"notes,omitempty"`
}

// Result is everything a lint run found.
type Result struct {
	// Mode is "files" or "database".
	Mode   string   `json:"mode"`
	Inputs []string `json:"inputs"`
	// PGVersion is the major whose pg_catalog names were used: the
	// --pg-version list for files, the server's major for a database.
	PGVersion int `json:"pg_version"`
	// Functions is how many functions and procedures were checked.
	Functions  int       `json:"functions"`
	Findings   []Finding `json:"findings"`
	Suppressed int       `json:"suppressed"`
	Fixes      []Fix     `json:"fixes"`
	// InputOrder says, per input directory, the order its files were
	// replayed in (set by whoever expanded the directory, see
	// OrderMigrations); Skipped lists the files it left out (*.down.sql).
	InputOrder []string `json:"input_order,omitempty"`
	Skipped    []string `json:"skipped,omitempty"`
}

// Errors counts error findings.
func (r *Result) Errors() int { return r.count(Error) }

// Warnings counts warning findings.
func (r *Result) Warnings() int { return r.count(Warning) }

func (r *Result) count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Failed says whether the findings should fail the run: any error, or any
// finding at all when strict.
func (r *Result) Failed(strict bool) bool {
	if strict {
		return len(r.Findings) > 0
	}
	return r.Errors() > 0
}
