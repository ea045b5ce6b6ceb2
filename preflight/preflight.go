package preflight

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/schema/lint"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// query returns an embedded query by file name; a missing file is a bug.
func query(name string) string {
	b, err := sqlFS.ReadFile("sql/" + name)
	if err != nil {
		panic("preflight: missing embedded query " + name)
	}
	return string(b)
}

// Severity ranks findings. Blocker and Critical make the command exit 1.
type Severity int

// Severities, most serious first.
const (
	Blocker  Severity = iota + 1 // replication cannot start or stops
	Critical                     // data is lost or production breaks
	Warning                      // needs a decision or a step at switchover
	Info                         // worth knowing
)

var severityNames = map[Severity]string{Blocker: "blocker", Critical: "critical", Warning: "warning", Info: "info"}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the severity's name, so JSON shows "blocker".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	for k, v := range severityNames {
		if v == string(b) {
			*s = k
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", b)
}

// Sides a finding is about.
const (
	SideSource = "source"
	SideTarget = "target"
)

// Finding is one problem (or fact) with what it involves and how to fix it.
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Side is the database the finding was read from: source or target.
	Side    string   `json:"side"`
	Objects []string `json:"objects"`
	Detail  string   `json:"detail"`
	Remedy  string   `json:"remedy"`
}

// Summary counts findings per severity.
type Summary struct {
	Blocker  int `json:"blocker"`
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Info     int `json:"info"`
}

// Server identifies one side.
type Server struct {
	Version string `json:"version"` // server_version_num
	Major   int    `json:"major"`
}

// Result is a preflight run.
type Result struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
	Source   Server    `json:"source"`
	Target   *Server   `json:"target,omitempty"`
	// Ignored lists the codes left out by Options.Ignore.
	Ignored []string `json:"ignored,omitempty"`
}

// Failed reports whether any blocker or critical finding exists.
func (r *Result) Failed() bool { return r.Summary.Blocker+r.Summary.Critical > 0 }

// Options tune the rules.
type Options struct {
	// Selection limits the table rules to matching tables (--table/--exclude).
	Selection catalog.Selection
	// LongTransaction is the age from which an open transaction is reported.
	LongTransaction time.Duration
	// MaxSlotLag is the slot lag (bytes) from which a subscription's slot is
	// reported.
	MaxSlotLag int64
	// Ignore drops findings with these codes.
	Ignore []string
}

// Defaults for Options.
const (
	DefaultLongTransaction = 5 * time.Minute
	DefaultMaxSlotLag      = 1 << 30
)

// server is one connected side with its major.
type server struct {
	conn     *pgx.Conn
	side     string
	major    int
	version  string
	settings map[string]string
}

func newServer(ctx context.Context, conn *pgx.Conn, side string) (*server, error) {
	s := &server{conn: conn, side: side, settings: map[string]string{}}
	rows, err := conn.Query(ctx, query("settings.sql"))
	if err != nil {
		return nil, fmt.Errorf("reading %s settings: %w", side, err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading %s settings: %w", side, err)
		}
		s.settings[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s settings: %w", side, err)
	}
	s.version = s.settings["server_version_num"]
	n, err := strconv.Atoi(s.version)
	if err != nil {
		return nil, fmt.Errorf("reading %s settings: bad server_version_num %q", side, s.version)
	}
	s.major = n / 10000
	return s, nil
}

// setting returns an integer setting, or -1 when absent or not a number.
func (s *server) intSetting(name string) int64 {
	v, err := strconv.ParseInt(s.settings[name], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// env is what rules see.
type env struct {
	src, dst *server
	opts     Options
	// cached reads shared by several rules
	rels    map[string][]relation
	lints   map[string]*lint.Result
	slots   []slot
	subs    []subscription
	subsErr error
	subsOK  bool
}

// rule is one check. Rules with needsTarget run only when a target is given.
type rule struct {
	code        string
	title       string
	needsTarget bool
	run         func(ctx context.Context, e *env) ([]Finding, error)
}

// SelectionError is a --table pattern that matches no source table.
type SelectionError struct{ Patterns []string }

func (e *SelectionError) Error() string {
	return "--table " + strings.Join(e.Patterns, ", ") + " matches no source table"
}

// Run checks the source, and the target when dst is not nil. Both
// connections should be read-only (dbconn ReadOnly). A rule that lacks the
// privileges to read what it needs yields a PF099 warning instead of failing
// the run; any other database error fails it.
func Run(ctx context.Context, src, dst *pgx.Conn, opts Options) (*Result, error) {
	if opts.LongTransaction <= 0 {
		opts.LongTransaction = DefaultLongTransaction
	}
	if opts.MaxSlotLag <= 0 {
		opts.MaxSlotLag = DefaultMaxSlotLag
	}
	e := &env{opts: opts, rels: map[string][]relation{}, lints: map[string]*lint.Result{}}
	var err error
	if e.src, err = newServer(ctx, src, SideSource); err != nil {
		return nil, err
	}
	res := &Result{Source: Server{Version: e.src.version, Major: e.src.major}}
	if dst != nil {
		if e.dst, err = newServer(ctx, dst, SideTarget); err != nil {
			return nil, err
		}
		res.Target = &Server{Version: e.dst.version, Major: e.dst.major}
	}
	if len(opts.Selection.Include) > 0 {
		if _, err := e.relations(ctx, e.src); err != nil {
			return nil, err
		}
	}
	var all []Finding
	var skipped, skippedTitles []string
	notChecked := map[string]*Finding{}
	var notCheckedOrder []*Finding
	for _, r := range rules {
		if r.needsTarget && e.dst == nil {
			skipped = append(skipped, r.code)
			skippedTitles = append(skippedTitles, r.code+" "+r.title)
			continue
		}
		fs, err := r.run(ctx, e)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !isPrivilegeError(err) {
				return nil, fmt.Errorf("%s %s: %w", r.code, r.title, err)
			}
			// One PF099 per cause, listing the rules it stopped.
			detail := oneLine(err.Error())
			if f, ok := notChecked[detail]; ok {
				f.Objects = append(f.Objects, r.code)
				f.Title = "checks could not run: " + strings.Join(f.Objects, ", ")
				continue
			}
			f := &Finding{Code: codeNotChecked, Severity: Warning, Side: sideOf(err),
				Title:   "check could not run: " + r.code + " " + r.title,
				Objects: []string{r.code},
				Detail:  detail,
				Remedy:  "Run preflight as a superuser or a role with pg_monitor / pg_read_all_stats, or check these rules by hand.",
			}
			notChecked[detail] = f
			notCheckedOrder = append(notCheckedOrder, f)
			continue
		}
		for i := range fs {
			if fs[i].Code == "" {
				fs[i].Code = r.code
			}
			if fs[i].Title == "" {
				fs[i].Title = r.title
			}
			if fs[i].Objects == nil {
				fs[i].Objects = []string{}
			}
		}
		all = append(all, fs...)
	}
	for _, f := range notCheckedOrder {
		all = append(all, *f)
	}
	if len(skipped) > 0 {
		all = append(all, Finding{Code: codeSkipped, Severity: Info, Side: SideTarget,
			Title:   "target checks skipped: no --target given",
			Objects: skipped,
			Detail:  "These rules compare with or inspect the target and did not run:\n" + strings.Join(skippedTitles, "\n"),
			Remedy:  "Run pgverify preflight --source ... --target ... to include them.",
		})
	}
	ignore := map[string]bool{}
	for _, c := range opts.Ignore {
		ignore[strings.ToUpper(c)] = true
	}
	for _, f := range all {
		if ignore[f.Code] {
			res.Ignored = appendUnique(res.Ignored, f.Code)
			continue
		}
		res.Findings = append(res.Findings, f)
		switch f.Severity {
		case Blocker:
			res.Summary.Blocker++
		case Critical:
			res.Summary.Critical++
		case Warning:
			res.Summary.Warning++
		default:
			res.Summary.Info++
		}
	}
	sortFindings(res.Findings)
	if res.Findings == nil {
		res.Findings = []Finding{}
	}
	return res, nil
}

// ValidCodes lists every rule code, for validating --ignore.
func ValidCodes() []string {
	out := []string{codeNotChecked, codeSkipped}
	for _, r := range rules {
		out = append(out, r.code)
	}
	sort.Strings(out)
	return out
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if a.Side != b.Side {
			return a.Side < b.Side
		}
		return strings.Join(a.Objects, ",") < strings.Join(b.Objects, ",")
	})
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// sideError tags an error with the side it came from.
type sideError struct {
	side string
	err  error
}

func (e *sideError) Error() string { return e.side + ": " + e.err.Error() }
func (e *sideError) Unwrap() error { return e.err }

func sideOf(err error) string {
	var se *sideError
	if errors.As(err, &se) {
		return se.side
	}
	return SideSource
}

func isPrivilegeError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42501"
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// collect runs a query on one side and scans every row into T by column name.
func collect[T any](ctx context.Context, s *server, name string, args ...any) ([]T, error) {
	rows, err := s.conn.Query(ctx, query(name), args...)
	if err != nil {
		return nil, &sideError{s.side, fmt.Errorf("%s: %w", name, err)}
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByNameLax[T])
	if err != nil {
		return nil, &sideError{s.side, fmt.Errorf("%s: %w", name, err)}
	}
	return out, nil
}
