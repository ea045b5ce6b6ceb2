package replicate

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/watermark"
)

//go:embed sql/*.sql
var sqlFS embed.FS

func query(name string) string {
	b, err := sqlFS.ReadFile("sql/" + name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Verification modes (--verify).
const (
	VerifyTables = "tables"
	VerifySample = "sample"
	VerifyNone   = "none"
)

// Defaults.
const (
	DefaultName        = "pgverify"
	DefaultSyncTimeout = 24 * time.Hour
	// DefaultDiagnoseAfter is how long a table sync may keep failing
	// before the diagnosis ends the run.
	DefaultDiagnoseAfter = 3 * time.Second
)

// Options configure Run.
type Options struct {
	SourceDSN, TargetDSN string
	// SourceConn and TargetConn carry the session guards (timeouts).
	SourceConn, TargetConn dbconn.Options
	Selection              catalog.Selection
	Publication            string
	Subscription           string
	CreateDatabase         bool
	FixSearchPath          bool
	Watermarks             []watermark.Check
	Verify                 string
	SyncTimeout            time.Duration
	Analyze                bool
	Plan                   bool
	// PgDump and Psql are the client programs (found on PATH when empty).
	PgDump, Psql string
	SkipLint     bool
	// Poll is the interval between sync polls (default 1s).
	Poll time.Duration
	// DiagnoseAfter: a failing table sync this long is diagnosed.
	DiagnoseAfter time.Duration
	// Progress receives the initial sync's progress; nil means none.
	Progress Progress
}

func (o *Options) defaults() {
	if o.Publication == "" {
		o.Publication = DefaultName
	}
	if o.Subscription == "" {
		o.Subscription = DefaultName
	}
	if o.Verify == "" {
		o.Verify = VerifyTables
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = DefaultSyncTimeout
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.DiagnoseAfter <= 0 {
		o.DiagnoseAfter = DefaultDiagnoseAfter
	}
	if o.SourceConn.Role == "" {
		o.SourceConn.Role = "source"
	}
	if o.TargetConn.Role == "" {
		o.TargetConn.Role = "target"
	}
}

// StepStatus is what a step did.
type StepStatus string

// Step statuses.
const (
	StepDone    StepStatus = "done"
	StepSkipped StepStatus = "skipped" // already there
	StepFailed  StepStatus = "failed"
	StepPlanned StepStatus = "planned" // --plan: would run
)

// Step is one step of the run.
type Step struct {
	Name     string
	Status   StepStatus
	Detail   string
	Duration time.Duration
}

// Verdict of a gate.
type Verdict string

// Gate verdicts.
const (
	Pass  Verdict = "pass"
	Fail  Verdict = "fail"
	Error Verdict = "error"
)

// Gate is one check the move must pass, in one shape whatever ran it.
type Gate struct {
	Name     string
	Verdict  Verdict
	Summary  string
	Duration time.Duration
	// Details are the lines behind a failure (findings, differences).
	Details []string
}

// Diagnosis explains why a table does not sync.
type Diagnosis struct {
	Table string
	// Cause is a short name: unqualified function reference, missing
	// column, duplicate rows, permission, row level security, unknown.
	Cause    string
	Detail   string
	Fix      string
	Evidence string
}

// Server is one side.
type Server struct {
	Version  int    // server_version_num
	Database string // name
}

// Result is a run.
type Result struct {
	Source, Target Server
	Plan           bool
	Steps          []Step
	Gates          []Gate
	Tables         []TableSync
	Diagnosis      *Diagnosis
	// Plumbing lists the replication objects found or created; they are
	// not schema differences.
	Plumbing []string
	Notes    []string
	Duration time.Duration
}

// Failed reports whether a gate failed or a diagnosis was made (exit 1).
func (r *Result) Failed() bool {
	if r.Diagnosis != nil {
		return true
	}
	for _, g := range r.Gates {
		if g.Verdict != Pass {
			return true
		}
	}
	for _, s := range r.Steps {
		if s.Status == StepFailed {
			return true
		}
	}
	return false
}

// Verdict is "pass", "fail" or, for --plan, "planned".
func (r *Result) Verdict() string {
	switch {
	case r.Failed():
		return "fail"
	case r.Plan:
		return "planned"
	}
	return "pass"
}

// RunError is a run that could not go on; Created says what it had
// created before it stopped (a rerun resumes from there).
type RunError struct {
	Step    string
	Err     error
	Created []string
}

func (e *RunError) Error() string {
	s := e.Step + ": " + e.Err.Error()
	if len(e.Created) > 0 {
		s += " (created before stopping, kept for a rerun to resume: " + strings.Join(e.Created, ", ") + ")"
	}
	return s
}

func (e *RunError) Unwrap() error { return e.Err }

// run is the state of one Run.
type run struct {
	opts          Options
	res           *Result
	src           *pgx.Conn // read-only source
	tgt           *pgx.Conn // target (writes only in steps)
	created       []string
	srcID         identity
	tgtID         identity
	targetMissing bool
	schemaPlanned bool
	lintFixes     int
	subOID        int64
	subOwner      string
	subOwnerSuper bool
}

type identity struct {
	sysid    *string
	dboid    int64
	name     string
	version  int
	encoding string
	collate  string
	ctype    string
}

// errStop ends the run after a failed gate or step (exit 1, not an error).
var errStop = errors.New("stopped at a failed gate")

// Run performs (or with Plan, plans) the move. An error means it could not
// run (exit 2); a result whose Failed is true stopped at a gate or a
// diagnosis (exit 1). On error the result holds the steps done so far.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	switch opts.Verify {
	case VerifyTables, VerifySample, VerifyNone:
	default:
		return nil, fmt.Errorf("--verify %q: use tables, sample or none", opts.Verify)
	}
	if err := opts.Selection.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	r := &run{opts: opts, res: &Result{Plan: opts.Plan}}
	defer func() {
		r.res.Duration = time.Since(start)
		for _, c := range []*pgx.Conn{r.src, r.tgt} {
			if c != nil {
				_ = c.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	err := r.all(ctx)
	if errors.Is(err, errStop) {
		return r.res, nil
	}
	if err != nil {
		var re *RunError
		if !errors.As(err, &re) {
			err = &RunError{Step: "replicate", Err: err}
		}
		errors.As(err, &re)
		re.Created = append([]string(nil), r.created...)
		return r.res, re
	}
	return r.res, nil
}

func (r *run) all(ctx context.Context) error {
	if err := r.connect(ctx); err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func(context.Context) (StepStatus, string, error)
	}{
		{"preflight", r.stepPreflight},
		{"privileges", r.stepPrivileges},
		{"target database", r.stepDatabase},
		{"roles", r.stepRoles},
		{"schema", r.stepSchema},
		{"schema diff", r.stepDiff},
		{"publication", r.stepPublication},
		{"subscription", r.stepSubscription},
		{"initial sync", r.stepSync},
		{"verification", r.stepVerify},
		{"analyze", r.stepAnalyze},
	}
	for _, s := range steps {
		t0 := time.Now()
		st, detail, err := s.fn(ctx)
		step := Step{Name: s.name, Status: st, Detail: detail, Duration: time.Since(t0)}
		if err != nil && !errors.Is(err, errStop) {
			step.Status = StepFailed
			if step.Detail == "" {
				step.Detail = err.Error()
			}
			r.res.Steps = append(r.res.Steps, step)
			var re *RunError
			if errors.As(err, &re) {
				return err
			}
			return &RunError{Step: s.name, Err: err}
		}
		r.res.Steps = append(r.res.Steps, step)
		if errors.Is(err, errStop) {
			return err
		}
	}
	return nil
}

// gate records a gate result.
func (r *run) gate(name string, t0 time.Time, v Verdict, summary string, details ...string) {
	r.res.Gates = append(r.res.Gates, Gate{Name: name, Verdict: v, Summary: summary, Duration: time.Since(t0), Details: details})
}

func (r *run) connect(ctx context.Context) error {
	if r.opts.SourceDSN == "" || r.opts.TargetDSN == "" {
		return &RunError{Step: "connect", Err: errors.New("both --source and --target are required")}
	}
	so := r.opts.SourceConn
	so.ReadOnly = true
	src, err := dbconn.Connect(ctx, r.opts.SourceDSN, so)
	if err != nil {
		return &RunError{Step: "connect", Err: err}
	}
	r.src = src
	if r.srcID, err = readIdentity(ctx, src); err != nil {
		return &RunError{Step: "connect", Err: fmt.Errorf("source: %w", err)}
	}
	r.res.Source = Server{Version: r.srcID.version, Database: r.srcID.name}
	tgt, err := dbconn.Connect(ctx, r.opts.TargetDSN, r.opts.TargetConn)
	if err != nil {
		var ce *dbconn.ConnectError
		if errors.As(err, &ce) && ce.Kind == dbconn.NoDatabase {
			r.targetMissing = true
			cfg, _ := dbconn.Config(r.opts.TargetDSN, r.opts.TargetConn)
			r.res.Target = Server{Database: cfg.Database}
			return nil
		}
		return &RunError{Step: "connect", Err: err}
	}
	r.tgt = tgt
	return r.afterTarget(ctx)
}

// afterTarget reads the target's identity and refuses source == target.
func (r *run) afterTarget(ctx context.Context) error {
	var err error
	if r.tgtID, err = readIdentity(ctx, r.tgt); err != nil {
		return &RunError{Step: "connect", Err: fmt.Errorf("target: %w", err)}
	}
	r.res.Target = Server{Version: r.tgtID.version, Database: r.tgtID.name}
	if r.srcID.sysid != nil && r.tgtID.sysid != nil && *r.srcID.sysid == *r.tgtID.sysid && r.srcID.dboid == r.tgtID.dboid {
		return &RunError{Step: "connect", Err: fmt.Errorf("source and target are the same database (system identifier %s, database %s): give a target on another cluster", *r.srcID.sysid, r.srcID.name)}
	}
	return nil
}

func readIdentity(ctx context.Context, c *pgx.Conn) (identity, error) {
	var id identity
	err := c.QueryRow(ctx, query("identity.sql")).Scan(&id.sysid, &id.dboid, &id.name, &id.version, &id.encoding, &id.collate, &id.ctype)
	if err != nil {
		// pg_control_system() may be revoked: compare without it.
		err = c.QueryRow(ctx, strings.Replace(query("identity.sql"), "(SELECT system_identifier::text FROM pg_catalog.pg_control_system())", "NULL::text", 1)).
			Scan(&id.sysid, &id.dboid, &id.name, &id.version, &id.encoding, &id.collate, &id.ctype)
	}
	if err != nil {
		return id, fmt.Errorf("reading the server identity: %w", err)
	}
	return id, nil
}

func ident(schema, name string) string { return pgx.Identifier{schema, name}.Sanitize() }

// displayName prints schema.name quoted only where needed.
func displayName(schema, name string) string {
	return quoteIfNeeded(schema) + "." + quoteIfNeeded(name)
}

func quoteIfNeeded(s string) string {
	plain := s != ""
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '$')) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return pgx.Identifier{s}.Sanitize()
}
