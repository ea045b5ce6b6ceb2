package failover

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/checksum"
	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/sampler"
	"github.com/pgverify/pgverify/schema/diff"
	"github.com/pgverify/pgverify/sequences"
)

// Gate is the data check run before the pause (and, with PostGate, after
// the switch in the new direction).
type Gate string

// Gates.
const (
	GateTables Gate = "tables"
	GateSample Gate = "sample"
	GateNone   Gate = "none"
)

// Names pgverify creates.
const (
	// MarkerSchema holds one marker table per forward subscription.
	MarkerSchema = "pgverify"
	// ReverseName is the reverse publication, subscription and slot.
	ReverseName = "pgverify_reverse"
)

// Options configure a switch.
type Options struct {
	SourceDSN, TargetDSN string
	// Drivers route the application's sessions (every one is switched).
	Drivers []Driver
	// Grace is how long in-flight transactions may run once the pause
	// started before their backends are terminated (default 2s).
	Grace time.Duration
	// Timeout bounds the whole pause, from PAUSE to RESUME (default 5s).
	Timeout time.Duration
	// SequenceMargin is added above the highest used value (default 1000).
	SequenceMargin int64
	// Gate is the data check before the pause (default tables).
	Gate Gate
	// PostGate runs Gate in the new direction after the switch.
	PostGate bool
	// Reverse creates reverse replication (new → old) inside the pause.
	Reverse bool
	// KeepForward keeps the (disabled) forward subscription after the
	// switch instead of dropping it.
	KeepForward bool
	// ReverseConnInfo is the CONNECTION the old cluster's server uses to
	// reach the new one for reverse replication; default TargetDSN. One
	// with passfile= keeps the password out of the old cluster's catalog.
	ReverseConnInfo string
	// DryRun runs the checks before the pause only.
	DryRun bool
	// MaxLag is the largest replication lag, in bytes, the checks before
	// the pause accept (default 16 MiB).
	MaxLag int64
	// Watch is how long the old cluster is watched for stray writes after
	// the switch (default 2s; negative: no watch).
	Watch time.Duration
	// Conn are the session guards (statement and lock timeouts).
	Conn dbconn.Options
	// Expect, when > 0, is the declared fleet size: the switch starts only
	// if exactly that many drivers are given and every one is reachable.
	Expect int

	// beforePause runs after the checks, just before the pause (tests).
	beforePause func()
	// afterPause runs once every driver is paused (tests).
	afterPause func()
}

func (o *Options) defaults() {
	if o.Grace <= 0 {
		o.Grace = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Gate == "" {
		o.Gate = GateTables
	}
	if o.MaxLag <= 0 {
		o.MaxLag = 16 << 20
	}
	if o.Watch == 0 {
		o.Watch = 2 * time.Second
	}
}

// Phases of a step.
const (
	PhaseBefore = "before" // before the pause: no impact
	PhasePause  = "pause"  // inside the pause: writes are held
	PhaseAfter  = "after"  // after resume
)

// Step statuses.
const (
	StepOK      = "ok"
	StepFailed  = "failed"
	StepWarning = "warning"
)

// Step is one timed step of the switch.
type Step struct {
	Name     string        `json:"name"`
	Phase    string        `json:"phase"`
	Status   string        `json:"status"`
	Duration time.Duration `json:"-"`
	Detail   string        `json:"detail,omitempty"`
}

// Outcomes.
const (
	OutcomeSwitched   = "switched"     // exit 0
	OutcomeReady      = "ready"        // dry run: every check passed; exit 0
	OutcomeAborted    = "aborted"      // a check before the pause failed; nothing paused; exit 1
	OutcomeRolledBack = "rolled_back"  // a step inside the pause failed; every proxy resumed on the source; exit 1
	OutcomeStray      = "stray_writes" // switched, but something wrote to the old cluster afterwards; exit 1
)

// Writer is a session that wrote (or holds a write transaction) on a
// cluster outside the proxies.
type Writer struct {
	PID             int    `json:"pid"`
	User            string `json:"user"`
	ApplicationName string `json:"application_name"`
	ClientAddr      string `json:"client_addr"`
	XID             string `json:"xid,omitempty"`
	State           string `json:"state,omitempty"`
	Query           string `json:"query,omitempty"`
}

func (w Writer) String() string {
	addr := w.ClientAddr
	if addr == "" {
		addr = "local"
	}
	return fmt.Sprintf("pid %d (user %s, application_name %q, from %s)", w.PID, w.User, w.ApplicationName, addr)
}

// Ack is one driver's answer to one phase of the pause.
type Ack struct {
	Member string        `json:"member"`
	Phase  string        `json:"phase"` // pause, switch, resume, switch back, rollback
	Took   time.Duration `json:"-"`
	TookMS float64       `json:"took_ms"`
	Error  string        `json:"error,omitempty"`
}

// Rollbacker is a driver whose Switch only prepares (failover/pgxswitch):
// Rollback discards a prepared switch and releases held work where it was,
// in one step, instead of Switch back to the source and Resume.
type Rollbacker interface {
	Rollback(ctx context.Context) error
}

// Prewarmer is a driver that can open its sessions on the target before
// the pause (pgverify proxy's PREWARM), so the switch inside the pause does
// not pay for logins.
type Prewarmer interface {
	Prewarm(ctx context.Context, dsn string) (int, error)
}

// ProxyResult is one driver's part.
type ProxyResult struct {
	Name       string      `json:"name"`
	Switched   bool        `json:"switched"`
	Switch     *SwitchInfo `json:"switch,omitempty"`
	Terminated []Client    `json:"terminated,omitempty"` // sessions whose transaction outlived the grace
}

// Result is what a switch did, step by step.
type Result struct {
	Source        string         `json:"source"` // redacted
	Target        string         `json:"target"` // redacted
	SourceVersion string         `json:"source_version"`
	TargetVersion string         `json:"target_version"`
	Subscriptions []string       `json:"subscriptions"`
	Proxies       []*ProxyResult `json:"proxies"`
	Steps         []Step         `json:"steps"`
	Outcome       string         `json:"outcome"`
	FailedStep    string         `json:"failed_step,omitempty"`
	Reason        string         `json:"reason,omitempty"`
	// Pause is from the PAUSE sent to the last RESUME answered: how long
	// transactions were held.
	Pause        time.Duration `json:"-"`
	PausedAt     time.Time     `json:"paused_at,omitempty"`    // when the first PAUSE was sent
	Writers      []Writer      `json:"writers,omitempty"`      // found by the fence
	StrayWrites  []Writer      `json:"stray_writes,omitempty"` // found after the switch on the old cluster
	SequencesSet int           `json:"sequences_synced"`
	// Acks are every driver's answers inside the pause, in order.
	Acks       []Ack         `json:"acks,omitempty"`
	Reverse    string        `json:"reverse_subscription,omitempty"`
	SwitchBack string        `json:"switch_back,omitempty"`
	Duration   time.Duration `json:"-"`
}

// Err is the error Run returns for a switch that could not run at all
// (bad input, unreachable cluster): nothing was paused.
type Err struct{ err error }

func (e *Err) Error() string { return e.err.Error() }
func (e *Err) Unwrap() error { return e.err }

// sub is one forward subscription.
type sub struct {
	name, slot string
	enabled    bool
	pubs       []string
	marker     string // the marker table's quoted name
	token      string
}

type run struct {
	opts     Options
	res      *Result
	src, tgt *pgx.Conn // writable, our own sessions
	poll     *pgx.Conn // target, marker polling
	seqSrc   *pgx.Conn // sequences, beside the reverse replication
	seqTgt   *pgx.Conn
	mu       sync.Mutex // Steps and Result, from concurrent steps
	subs     []sub
	srcPID   []int
	wit      *witness // nil: the fence has only the cluster-wide xid proof
	fenceLSN string   // the source's WAL insert position at the fence
}

// Run carries out the switch. It returns an error (an *Err) only when the
// switch could not start (bad input, a cluster or proxy unreachable, no
// subscription linking the clusters); every later failure is in the
// Result, with Outcome aborted or rolled_back.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	start := time.Now()
	r := &run{opts: opts, res: &Result{Source: dbconn.Redact(opts.SourceDSN), Target: dbconn.Redact(opts.TargetDSN)}}
	if len(opts.Drivers) == 0 {
		return nil, &Err{errors.New("no traffic controller to switch: give --proxy, --pgbouncer or --app")}
	}
	if opts.Expect > 0 && len(opts.Drivers) != opts.Expect {
		return nil, &Err{fmt.Errorf("%d traffic controller(s) given, --expect %d: name every member of the fleet", len(opts.Drivers), opts.Expect)}
	}
	seen := map[string]bool{}
	for _, d := range opts.Drivers {
		if seen[d.Name()] {
			return nil, &Err{fmt.Errorf("%s is given twice: each traffic controller once", d.Name())}
		}
		seen[d.Name()] = true
		r.res.Proxies = append(r.res.Proxies, &ProxyResult{Name: d.Name()})
	}
	if err := r.connect(ctx); err != nil {
		return nil, &Err{err}
	}
	defer r.close()
	r.res.Duration = 0
	defer func() { r.res.Duration = time.Since(start) }()

	if !r.before(ctx) {
		r.res.Outcome = OutcomeAborted
		return r.res, nil
	}
	if opts.DryRun {
		r.res.Outcome = OutcomeReady
		return r.res, nil
	}
	r.prewarm(ctx)
	r.openWitness(ctx)
	if opts.beforePause != nil {
		opts.beforePause()
	}
	if !r.pause(ctx) {
		r.res.Outcome = OutcomeRolledBack
		return r.res, nil
	}
	r.res.Outcome = OutcomeSwitched
	r.after(ctx)
	if len(r.res.StrayWrites) > 0 {
		r.res.Outcome = OutcomeStray
	}
	return r.res, nil
}

func (r *run) connect(ctx context.Context) error {
	co := r.opts.Conn
	co.ReadOnly = false
	so, to := co, co
	so.Role, to.Role = "source", "target"
	if _, err := dbconn.Config(r.opts.SourceDSN, so); err != nil {
		return err
	}
	if _, err := dbconn.Config(r.opts.TargetDSN, to); err != nil {
		return err
	}
	var err error
	if r.src, err = dbconn.Connect(ctx, r.opts.SourceDSN, so); err != nil {
		return err
	}
	if r.tgt, err = dbconn.Connect(ctx, r.opts.TargetDSN, to); err != nil {
		return err
	}
	if r.poll, err = dbconn.Connect(ctx, r.opts.TargetDSN, to); err != nil {
		return err
	}
	if r.seqSrc, err = dbconn.Connect(ctx, r.opts.SourceDSN, so); err != nil {
		return err
	}
	if r.seqTgt, err = dbconn.Connect(ctx, r.opts.TargetDSN, to); err != nil {
		return err
	}
	if err := dbconn.CheckDistinct(ctx, r.src, r.tgt); err != nil {
		return err
	}
	for _, c := range []*pgx.Conn{r.src, r.tgt} {
		var v string
		if err := c.QueryRow(ctx, "SELECT current_setting('server_version')").Scan(&v); err != nil {
			return err
		}
		if c == r.src {
			r.res.SourceVersion = v
		} else {
			r.res.TargetVersion = v
		}
	}
	for _, c := range []*pgx.Conn{r.src, r.seqSrc} {
		var pid int
		if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			return err
		}
		r.srcPID = append(r.srcPID, pid)
	}
	// The forward link: target subscriptions whose slot is on the source.
	rows, err := r.tgt.Query(ctx, `SELECT s.subname::text, coalesce(s.subslotname::text, ''), s.subenabled, s.subpublications::text[]
		FROM pg_catalog.pg_subscription s
		WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("target: listing subscriptions: %w", err)
	}
	var all []sub
	for rows.Next() {
		var s sub
		if err := rows.Scan(&s.name, &s.slot, &s.enabled, &s.pubs); err != nil {
			rows.Close()
			return fmt.Errorf("target: listing subscriptions: %w", err)
		}
		all = append(all, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("target: listing subscriptions: %w", err)
	}
	for _, s := range all {
		var n int
		if err := r.src.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_replication_slots
			WHERE slot_type = 'logical' AND database = current_database() AND slot_name = $1`, s.slot).Scan(&n); err != nil {
			return fmt.Errorf("source: listing replication slots: %w", err)
		}
		if n == 1 {
			s.marker = pgx.Identifier{MarkerSchema, "switch_marker_" + s.name}.Sanitize()
			r.subs = append(r.subs, s)
			r.res.Subscriptions = append(r.res.Subscriptions, s.name)
		}
	}
	if len(r.subs) == 0 {
		return errors.New("no subscription links the target to the source: the target has no subscription whose slot is on the source database")
	}
	for _, d := range r.opts.Drivers {
		if _, err := d.Clients(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) close() {
	r.wit.close()
	for _, c := range []*pgx.Conn{r.src, r.tgt, r.poll, r.seqSrc, r.seqTgt} {
		if c != nil {
			_ = c.Close(context.Background())
		}
	}
}

// prewarm asks the drivers that can to open their target sessions now. A
// failure is only a warning: the switch then logs in inside the pause.
func (r *run) prewarm(ctx context.Context) {
	t0 := time.Now()
	var mu sync.Mutex
	var opened, drivers int
	var errs []string
	var wg sync.WaitGroup
	for _, d := range r.opts.Drivers {
		pw, ok := d.(Prewarmer)
		if !ok {
			continue
		}
		drivers++
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := pw.Prewarm(ctx, r.opts.TargetDSN)
			mu.Lock()
			defer mu.Unlock()
			opened += n
			if err != nil {
				errs = append(errs, d.Name()+": "+err.Error())
			}
		}()
	}
	wg.Wait()
	if drivers == 0 {
		return
	}
	s := Step{Name: "prewarm", Phase: PhaseBefore, Status: StepOK, Duration: time.Since(t0),
		Detail: fmt.Sprintf("%d target session(s) opened ahead by %d driver(s)", opened, drivers)}
	if len(errs) > 0 {
		sort.Strings(errs)
		s.Status = StepWarning
		s.Detail = dbconn.Redact(strings.Join(errs, "; ")) + " (the switch logs in inside the pause instead)"
	}
	r.mu.Lock()
	r.res.Steps = append(r.res.Steps, s)
	r.mu.Unlock()
}

// ack records driver i's answer to phase, started at t0.
func (r *run) ack(i int, phase string, t0 time.Time, err error) {
	a := Ack{Member: r.opts.Drivers[i].Name(), Phase: phase, Took: time.Since(t0)}
	a.TookMS = float64(a.Took.Microseconds()) / 1000
	if err != nil {
		a.Error = dbconn.Redact(err.Error())
	}
	r.mu.Lock()
	r.res.Acks = append(r.res.Acks, a)
	r.mu.Unlock()
}

// step runs f as a named step and records it; it reports success.
func (r *run) step(phase, name string, f func() (detail string, err error)) bool {
	t0 := time.Now()
	detail, err := f()
	s := Step{Name: name, Phase: phase, Status: StepOK, Duration: time.Since(t0), Detail: detail}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		s.Status = StepFailed
		s.Detail = dbconn.Redact(err.Error())
		if r.res.FailedStep == "" {
			r.res.FailedStep, r.res.Reason = name, s.Detail
		}
	}
	r.res.Steps = append(r.res.Steps, s)
	return err == nil
}

func (r *run) warn(phase, name, detail string, d time.Duration) {
	r.res.Steps = append(r.res.Steps, Step{Name: name, Phase: phase, Status: StepWarning, Duration: d, Detail: detail})
}

// before runs the checks that have no impact; any failure stops the switch.
func (r *run) before(ctx context.Context) bool {
	ok := r.step(PhaseBefore, "link", func() (string, error) { return r.checkLink(ctx) }) &&
		r.step(PhaseBefore, "lag", func() (string, error) { return r.checkLag(ctx) })
	if !ok {
		return false
	}
	if !r.opts.DryRun {
		if !r.step(PhaseBefore, "markers", func() (string, error) { return r.prepareMarkers(ctx) }) {
			return false
		}
	}
	return r.step(PhaseBefore, "schema", func() (string, error) { return r.checkSchema(ctx) }) &&
		r.step(PhaseBefore, "gate", func() (string, error) { return r.gate(ctx, r.opts.SourceDSN, r.opts.TargetDSN) }) &&
		r.step(PhaseBefore, "target connections", func() (string, error) { return r.checkTargetConns(ctx) }) &&
		(r.opts.DryRun || r.step(PhaseBefore, "catch-up rehearsal", func() (string, error) { return r.rehearse(ctx) })) &&
		(!r.opts.Reverse || r.step(PhaseBefore, "reverse names", func() (string, error) { return r.checkReverseFree(ctx) }))
}

func (r *run) checkLink(ctx context.Context) (string, error) {
	for _, s := range r.subs {
		if !s.enabled {
			var interrupted bool
			if err := r.src.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_subscription WHERE subname = $1)`, ReverseName).Scan(&interrupted); err != nil {
				return "", fmt.Errorf("source: %w", err)
			}
			if interrupted {
				// What a lease-ended pause leaves: the coordinator died after
				// the reverse step; the members resumed on the source.
				rev := pgx.Identifier{ReverseName}.Sanitize()
				return "", fmt.Errorf("subscription %s is disabled and the source has a %s subscription: an earlier switch stopped inside its pause and its members resumed on the source; "+
					"if the clients write to the source, run ALTER SUBSCRIPTION %s ENABLE on the target, DROP SUBSCRIPTION %s on the source and DROP PUBLICATION %s on the target, then switch again",
					s.name, ReverseName, pgx.Identifier{s.name}.Sanitize(), rev, rev)
			}
			return "", fmt.Errorf("subscription %s is disabled: ALTER SUBSCRIPTION %s ENABLE on the target", s.name, pgx.Identifier{s.name}.Sanitize())
		}
		var active bool
		if err := r.src.QueryRow(ctx, `SELECT active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, s.slot).Scan(&active); err != nil {
			return "", fmt.Errorf("source: reading slot %s: %w", s.slot, err)
		}
		if !active {
			return "", fmt.Errorf("subscription %s is not streaming: no walsender uses slot %s on the source", s.name, s.slot)
		}
	}
	var notReady []string
	rows, err := r.tgt.Query(ctx, `SELECT s.subname || ': ' || r.srrelid::regclass::text || ' (' || r.srsubstate::text || ')'
		FROM pg_catalog.pg_subscription_rel r JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid
		WHERE r.srsubstate <> 'r' AND s.subname = ANY($1) ORDER BY 1`, r.subNames())
	if err != nil {
		return "", fmt.Errorf("target: reading table states: %w", err)
	}
	notReady, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("target: reading table states: %w", err)
	}
	if len(notReady) > 0 {
		return "", fmt.Errorf("%d table(s) not ready (initial copy or sync still running): %s", len(notReady), strings.Join(notReady, ", "))
	}
	return fmt.Sprintf("%d subscription(s) enabled and streaming, every table ready", len(r.subs)), nil
}

func (r *run) subNames() []string {
	out := make([]string, len(r.subs))
	for i, s := range r.subs {
		out[i] = s.name
	}
	return out
}

func (r *run) slotNames() []string {
	out := make([]string, len(r.subs))
	for i, s := range r.subs {
		out[i] = s.slot
	}
	return out
}

func (r *run) checkLag(ctx context.Context) (string, error) {
	var lag int64
	if err := r.src.QueryRow(ctx, `SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0)::bigint
		FROM pg_catalog.pg_replication_slots WHERE slot_name = ANY($1)`, r.slotNames()).Scan(&lag); err != nil {
		return "", fmt.Errorf("source: reading replication lag: %w", err)
	}
	if lag > r.opts.MaxLag {
		return "", fmt.Errorf("replication lag %d bytes is above the limit of %d", lag, r.opts.MaxLag)
	}
	return fmt.Sprintf("lag %d bytes (limit %d)", lag, r.opts.MaxLag), nil
}

// prepareMarkers creates a marker table per subscription on both sides,
// adds it to the subscription's first publication and waits for the
// subscription to have it ready.
func (r *run) prepareMarkers(ctx context.Context) (string, error) {
	for i := range r.subs {
		s := &r.subs[i]
		ddl := "CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{MarkerSchema}.Sanitize() + "; CREATE TABLE IF NOT EXISTS " + s.marker +
			" (id int PRIMARY KEY, token text NOT NULL, at timestamptz NOT NULL DEFAULT now())"
		for _, c := range []*pgx.Conn{r.src, r.tgt} {
			if _, err := c.Exec(ctx, ddl); err != nil {
				return "", fmt.Errorf("creating marker table %s: %w", s.marker, err)
			}
		}
		if len(s.pubs) == 0 {
			return "", fmt.Errorf("subscription %s has no publication", s.name)
		}
		var published bool
		if err := r.src.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_publication_tables
			WHERE pubname = ANY($1) AND schemaname = $2 AND tablename = $3)`, s.pubs, MarkerSchema, "switch_marker_"+s.name).Scan(&published); err != nil {
			return "", fmt.Errorf("source: reading publications: %w", err)
		}
		if !published {
			if _, err := r.src.Exec(ctx, "ALTER PUBLICATION "+pgx.Identifier{s.pubs[0]}.Sanitize()+" ADD TABLE "+s.marker); err != nil {
				return "", fmt.Errorf("source: adding %s to publication %s: %w", s.marker, s.pubs[0], err)
			}
		}
		var subscribed bool
		if err := r.tgt.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_subscription_rel r JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid
			WHERE s.subname = $1 AND r.srrelid = $2::regclass)`, s.name, s.marker).Scan(&subscribed); err != nil {
			return "", fmt.Errorf("target: reading subscription tables: %w", err)
		}
		if !subscribed {
			// The marker's rows are ours: nothing to copy.
			if _, err := r.tgt.Exec(ctx, "ALTER SUBSCRIPTION "+pgx.Identifier{s.name}.Sanitize()+" REFRESH PUBLICATION WITH (copy_data = false)"); err != nil {
				return "", fmt.Errorf("target: refreshing subscription %s: %w", s.name, err)
			}
		}
	}
	// A table added with copy_data = false becomes ready at once, but the
	// apply worker only picks it up on its next catalog reload: prove the
	// marker path end to end now, outside the pause.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := r.writeMarkers(wctx); err != nil {
		return "", err
	}
	if err := r.waitMarkers(wctx); err != nil {
		return "", fmt.Errorf("the marker rows do not reach the target: %w", err)
	}
	return fmt.Sprintf("%d marker table(s) in %s, replicated", len(r.subs), MarkerSchema), nil
}

func (r *run) checkSchema(ctx context.Context) (string, error) {
	res, err := diff.Run(ctx, r.src, r.tgt, diff.Options{})
	if err != nil {
		return "", err
	}
	// The forward publications exist on the source only, by design.
	ours := map[string]bool{ReverseName: true}
	for _, s := range r.subs {
		for _, p := range s.pubs {
			ours[p] = true
		}
	}
	var names []string
	n, pinned := 0, 0
	for _, d := range res.Differences {
		if d.Severity != diff.SeverityError || (d.ObjectType == "publication" && ours[d.Object]) {
			continue
		}
		if pinnedOnTarget(d) {
			pinned++ // replicate --fix-search-path did this, on the target only
			continue
		}
		n++
		if len(names) < 5 {
			names = append(names, d.ObjectType+" "+d.Object)
		}
	}
	if n > 0 {
		return "", fmt.Errorf("schema differs: %d difference(s) (%s); run pgverify schema diff", n, strings.Join(names, ", "))
	}
	if pinned > 0 {
		return fmt.Sprintf("equal (%d notice(s)); %d function(s) pin search_path on the target only (replicate --fix-search-path)", res.Notices(), pinned), nil
	}
	return fmt.Sprintf("equal (%d notice(s))", res.Notices()), nil
}

// pinnedOnTarget: a function whose only difference is a search_path the
// target sets and the source does not, which is what the lint fix applies
// on the target (the apply worker's side) without touching the source.
func pinnedOnTarget(d diff.Difference) bool {
	if d.ObjectType != "function" || d.Kind != diff.Changed || d.Attribute != "config" || d.Target == nil {
		return false
	}
	return strings.Contains(*d.Target, "search_path") && (d.Source == nil || !strings.Contains(*d.Source, "search_path"))
}

var markerSelection = catalog.Selection{Exclude: []string{MarkerSchema + ".*"}}

// gate runs the data gate from src to dst.
func (r *run) gate(ctx context.Context, src, dst string) (string, error) {
	co := r.opts.Conn
	co.ReadOnly = true
	so, to := co, co
	so.Role, to.Role = "source", "target"
	switch r.opts.Gate {
	case GateNone:
		return "skipped (--gate none)", nil
	case GateSample:
		res, err := sampler.Run(ctx, sampler.Options{SourceDSN: src, TargetDSN: dst, SourceConn: so, TargetConn: to, Selection: markerSelection, Rechecks: 3})
		if err != nil {
			return "", err
		}
		s := res.Summary
		switch {
		case res.HasDifferences():
			return "", fmt.Errorf("sample: %d of %d sampled row(s) differ; run pgverify sample", s.Differing, s.Sampled)
		case res.Incomplete():
			return "", fmt.Errorf("sample: %d table(s) could not be verified; run pgverify sample", s.Errors)
		case s.Tables == 0:
			return "", errors.New("sample: no table to compare")
		}
		return fmt.Sprintf("sample: %d row(s) of %d table(s) equal", s.Sampled, s.Tables), nil
	default:
		res, err := checksum.Run(ctx, checksum.Options{SourceDSN: src, TargetDSN: dst, SourceConn: so, TargetConn: to, Selection: markerSelection, Rechecks: 3})
		if err != nil {
			return "", err
		}
		s := res.Summary
		var unstable []string
		for _, t := range res.Tables {
			if t.Status == checksum.StatusUnstable {
				unstable = append(unstable, t.Table)
			}
		}
		if s.Verdict != checksum.VerdictEqual && len(unstable) < s.Tables-s.Match {
			var bad []string
			for _, t := range res.Tables {
				if t.Status != checksum.StatusMatch && t.Status != checksum.StatusUnstable {
					why := string(t.Status)
					if t.Error != "" {
						why += ": " + t.Error
					} else if len(t.Notes) > 0 {
						why += ": " + t.Notes[0]
					}
					bad = append(bad, t.Table+" "+why)
				}
			}
			return "", fmt.Errorf("tables: %s (%d of %d table(s) match: %s); run pgverify tables", s.Verdict, s.Match, s.Tables, strings.Join(bad, "; "))
		}
		if len(unstable) > 0 {
			// Rows that change on every re-read under a live load are not a
			// proven difference; the catch-up marker inside the pause proves
			// the target applied every change.
			return fmt.Sprintf("tables: %d table(s) equal, %d kept changing under load (unstable: %s)", s.Match, len(unstable), strings.Join(unstable, ", ")), nil
		}
		return fmt.Sprintf("tables: %d table(s) equal", s.Tables), nil
	}
}

// checkTargetConns opens new sessions on the target and checks it has room
// for every client of the proxies.
func (r *run) checkTargetConns(ctx context.Context) (string, error) {
	var db string
	if err := r.src.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	clients := 0
	var others []string
	for _, d := range r.opts.Drivers {
		cs, err := d.Clients(ctx)
		if err != nil {
			return "", err
		}
		clients += len(cs)
		// A proxy passes each client's own database name on: clients of
		// another database would be moved without that database being
		// replicated or verified. (Drivers that do not report it leave
		// Database empty.)
		seen := map[string]int{}
		for _, c := range cs {
			if c.Database != "" && c.Database != db {
				seen[c.Database]++
			}
		}
		for name, n := range seen {
			others = append(others, fmt.Sprintf("%s has %d client(s) of database %q", d.Name(), n, name))
		}
	}
	if len(others) > 0 {
		sort.Strings(others)
		return "", fmt.Errorf("the switch replicates and verifies database %q only, but %s; switch each database on its own proxy", db, strings.Join(others, "; "))
	}
	to := r.opts.Conn
	to.Role = "target"
	to.ReadOnly = true
	for i := 0; i < 2; i++ {
		c, err := dbconn.Connect(ctx, r.opts.TargetDSN, to)
		if err != nil {
			return "", err
		}
		_ = c.Close(ctx)
	}
	var free int
	if err := r.tgt.QueryRow(ctx, `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
		- (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend')`).Scan(&free); err != nil {
		return "", fmt.Errorf("target: reading connection headroom: %w", err)
	}
	if free < clients {
		return "", fmt.Errorf("the target has room for %d more connection(s), the proxies have %d client(s)", free, clients)
	}
	return fmt.Sprintf("new sessions open; room for %d connection(s), %d client(s) to move", free, clients), nil
}

// rehearse times a marker round trip under the current load: the catch-up
// inside the pause takes about as long, so one slower than half the
// --timeout would roll back anyway.
func (r *run) rehearse(ctx context.Context) (string, error) {
	t0 := time.Now()
	wctx, cancel := context.WithTimeout(ctx, max(10*time.Second, 4*r.opts.Timeout))
	defer cancel()
	if _, err := r.writeMarkers(wctx); err != nil {
		return "", err
	}
	if err := r.waitMarkers(wctx); err != nil {
		return "", err
	}
	d := time.Since(t0)
	if d > r.opts.Timeout/2 {
		return "", fmt.Errorf("a marker takes %s to reach the target under the current load, more than half the --timeout %s: the catch-up inside the pause would not fit", d.Round(time.Millisecond), r.opts.Timeout)
	}
	return fmt.Sprintf("a marker reached the target in %s (the catch-up inside the pause should take about as long)", d.Round(time.Microsecond)), nil
}

func (r *run) checkReverseFree(ctx context.Context) (string, error) {
	var n int
	if err := r.tgt.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_catalog.pg_publication WHERE pubname = $1)
		+ (SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1)`, ReverseName).Scan(&n); err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	if n > 0 {
		return "", fmt.Errorf("the target already has a publication or slot named %s (an earlier switch?): drop it first", ReverseName)
	}
	if err := r.src.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_subscription WHERE subname = $1`, ReverseName).Scan(&n); err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	if n > 0 {
		return "", fmt.Errorf("the source already has a subscription named %s (an earlier switch?): drop it first", ReverseName)
	}
	return "", nil
}

// writeMarkers writes a new token into every marker table in one source
// transaction and returns its xid.
func (r *run) writeMarkers(ctx context.Context) (uint64, error) {
	tx, err := r.src.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("source: writing the marker: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// A walsender sends flushed WAL only: committed with synchronous_commit
	// on, the marker flushes itself and every asynchronous commit before
	// it, and wakes the walsenders at once (with the server's
	// synchronous_commit off it would wait for the WAL writer, up to three
	// wal_writer_delay cycles).
	if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = on"); err != nil {
		return 0, fmt.Errorf("source: writing the marker: %w", err)
	}
	var xid uint64
	if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&xid); err != nil {
		return 0, fmt.Errorf("source: writing the marker: %w", err)
	}
	for i := range r.subs {
		s := &r.subs[i]
		s.token = newToken()
		if _, err := tx.Exec(ctx, "INSERT INTO "+s.marker+" (id, token) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, at = now()", s.token); err != nil {
			return 0, fmt.Errorf("source: writing the marker: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("source: writing the marker: %w", err)
	}
	return xid, nil
}

// waitMarkers polls the target every millisecond until every marker token
// is visible there.
func (r *run) waitMarkers(ctx context.Context) error {
	for i := range r.subs {
		s := &r.subs[i]
		q := "SELECT token FROM " + s.marker + " WHERE id = 1"
		for {
			var tok string
			err := r.poll.QueryRow(ctx, q).Scan(&tok)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				if ctx.Err() != nil {
					return fmt.Errorf("subscription %s has not applied the marker: %w", s.name, ctx.Err())
				}
				return fmt.Errorf("target: reading the marker: %w", err)
			}
			if tok == s.token {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("subscription %s has not applied the marker: %w", s.name, ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
	}
	return nil
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pause runs the steps inside the pause; it reports whether the switch
// went through. Any failure rolls back: every proxy resumes on the source.
func (r *run) pause(parent context.Context) bool {
	ctx, cancel := context.WithTimeout(parent, r.opts.Timeout)
	defer cancel()
	start := time.Now()
	r.res.PausedAt = start
	switched := make([]bool, len(r.opts.Drivers))
	var reverseMade, forwardDisabled bool
	rollback := func() {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(parent), 30*time.Second)
		defer rcancel()
		t0 := time.Now()
		var notes []string
		if reverseMade {
			if _, err := r.src.Exec(rctx, "DROP SUBSCRIPTION IF EXISTS "+pgx.Identifier{ReverseName}.Sanitize()); err != nil {
				notes = append(notes, "dropping the reverse subscription: "+err.Error())
			}
			if _, err := r.tgt.Exec(rctx, "DROP PUBLICATION IF EXISTS "+pgx.Identifier{ReverseName}.Sanitize()); err != nil {
				notes = append(notes, "dropping the reverse publication: "+err.Error())
			}
		}
		if forwardDisabled {
			for _, s := range r.subs {
				if _, err := r.tgt.Exec(rctx, "ALTER SUBSCRIPTION "+pgx.Identifier{s.name}.Sanitize()+" ENABLE"); err != nil {
					notes = append(notes, "re-enabling "+s.name+": "+err.Error())
				}
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, d := range r.opts.Drivers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				note := func(what string, err error) {
					mu.Lock()
					notes = append(notes, d.Name()+": "+what+": "+err.Error())
					mu.Unlock()
				}
				if rb, ok := d.(Rollbacker); ok {
					t0 := time.Now()
					err := rb.Rollback(rctx)
					r.ack(i, "rollback", t0, err)
					if err != nil {
						note("rollback", err)
					}
					return
				}
				if switched[i] {
					t0 := time.Now()
					_, err := d.Switch(rctx, r.opts.SourceDSN)
					r.ack(i, "switch back", t0, err)
					if err != nil {
						note("switching back", err)
					}
				}
				t0 := time.Now()
				err := d.Resume(rctx)
				r.ack(i, "resume", t0, err)
				if err != nil {
					note("resume", err)
				}
			}()
		}
		wg.Wait()
		r.res.Pause = time.Since(start)
		s := Step{Name: "rollback", Phase: PhasePause, Status: StepOK, Duration: time.Since(t0),
			Detail: "every member resumed on the source"}
		if len(notes) > 0 {
			s.Status, s.Detail = StepFailed, dbconn.Redact(strings.Join(notes, "; "))
		}
		r.res.Steps = append(r.res.Steps, s)
	}
	fail := func() bool { rollback(); return false }
	within := func(err error) error {
		if err != nil && parent.Err() != nil {
			return fmt.Errorf("interrupted: %w", err)
		}
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("the pause ran out of time (--timeout %s): %w", r.opts.Timeout, err)
		}
		return err
	}

	if !r.step(PhasePause, "pause", func() (string, error) { d, err := r.pauseAll(ctx); return d, within(err) }) {
		return fail()
	}
	if r.opts.afterPause != nil {
		r.opts.afterPause()
	}
	var xmax uint64
	if !r.step(PhasePause, "fence", func() (string, error) {
		var d string
		var err error
		xmax, d, err = r.fence(ctx)
		return d, within(err)
	}) {
		return fail()
	}
	if !r.step(PhasePause, "catch-up", func() (string, error) { d, err := r.catchUp(ctx, xmax); return d, within(err) }) {
		return fail()
	}
	// Its work is done: ending the session drops the slot, so it holds
	// back no catalog rows.
	r.wit.close()
	r.wit = nil
	// Sequences (source sessions read, target setval) and the reverse
	// replication (target publication, source subscription) touch nothing
	// of each other: run them at once, on their own sessions.
	seqOK, revOK := true, true
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seqOK = r.step(PhasePause, "sequences", func() (string, error) { d, err := r.syncSequences(ctx); return d, within(err) })
	}()
	if r.opts.Reverse {
		forwardDisabled, reverseMade = true, true
		revOK = r.step(PhasePause, "reverse replication", func() (string, error) { d, err := r.reverse(ctx); return d, within(err) })
	}
	wg.Wait()
	if !seqOK || !revOK {
		return fail()
	}
	if !r.step(PhasePause, "switch", func() (string, error) { d, err := r.switchAll(ctx, switched); return d, within(err) }) {
		return fail()
	}
	// From here on there is no automatic rollback.
	r.step(PhasePause, "resume", func() (string, error) {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(parent), 30*time.Second)
		defer rcancel()
		var errs []string
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, d := range r.opts.Drivers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				err := d.Resume(rctx)
				r.ack(i, "resume", t0, err)
				if err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		r.res.Pause = time.Since(start)
		if len(errs) > 0 {
			return "", errors.New(strings.Join(errs, "; ") + " (the proxy resumes by itself after its --max-pause)")
		}
		return fmt.Sprintf("%d member(s) resumed on the target; writes held %s", len(r.opts.Drivers), r.res.Pause.Round(time.Microsecond)), nil
	})
	return true
}

// pauseAll pauses every driver; sessions still in a transaction after the
// grace have their source backends terminated.
func (r *run) pauseAll(ctx context.Context) (string, error) {
	type done struct {
		i   int
		err error
	}
	ch := make(chan done, len(r.opts.Drivers))
	for i, d := range r.opts.Drivers {
		go func() {
			t0 := time.Now()
			err := d.Pause(ctx)
			r.ack(i, "pause", t0, err)
			ch <- done{i, err}
		}()
	}
	pending := map[int]bool{}
	for i := range r.opts.Drivers {
		pending[i] = true
	}
	grace := time.NewTimer(r.opts.Grace)
	defer grace.Stop()
	var errs []string
	var terminated int
	for len(pending) > 0 {
		select {
		case d := <-ch:
			delete(pending, d.i)
			if d.err != nil {
				errs = append(errs, d.err.Error())
			}
		case <-grace.C:
			n, err := r.terminateBusy(ctx, pending)
			if err != nil {
				return "", err
			}
			terminated += n
		}
	}
	if len(errs) > 0 {
		return "", errors.New(strings.Join(errs, "; "))
	}
	if terminated > 0 {
		return fmt.Sprintf("%d member(s) paused; %d transaction(s) outlived the %s grace and were terminated", len(r.opts.Drivers), terminated, r.opts.Grace), nil
	}
	return fmt.Sprintf("%d member(s) paused, every transaction ended", len(r.opts.Drivers)), nil
}

// terminateBusy ends, on the source, the backends of sessions still in a
// transaction behind the pending drivers, and waits until they are gone.
func (r *run) terminateBusy(ctx context.Context, pending map[int]bool) (int, error) {
	var pids []int
	for i := range pending {
		cs, err := r.opts.Drivers[i].Clients(ctx)
		if err != nil {
			return 0, err
		}
		for _, c := range cs {
			if c.InTransaction() && c.BackendPID > 0 {
				pids = append(pids, c.BackendPID)
				r.res.Proxies[i].Terminated = append(r.res.Proxies[i].Terminated, c)
			}
		}
	}
	if len(pids) == 0 {
		return 0, nil
	}
	if _, err := r.src.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", pids); err != nil {
		return 0, fmt.Errorf("source: terminating transactions that outlived the grace: %w", err)
	}
	for {
		var left int
		if err := r.src.QueryRow(ctx, "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = ANY($1)", pids).Scan(&left); err != nil {
			return 0, fmt.Errorf("source: waiting for terminated backends: %w", err)
		}
		if left == 0 {
			return len(pids), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%d terminated backend(s) still running: %w", left, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// fence proves nothing else writes to the source: no other session holds
// a transaction id, no prepared transaction waits, and the next
// transaction id does not move. It returns the next transaction id.
func (r *run) fence(ctx context.Context) (uint64, string, error) {
	read := func() (uint64, string, error) {
		var xmax uint64
		var lsn string
		err := r.src.QueryRow(ctx, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, pg_current_wal_insert_lsn()::text").Scan(&xmax, &lsn)
		return xmax, lsn, err
	}
	x1, l1, err := read()
	if err != nil {
		return 0, "", fmt.Errorf("source: %w", err)
	}
	writers, err := r.writers(ctx, r.src)
	if err != nil {
		return 0, "", err
	}
	var prepared []string
	rows, err := r.src.Query(ctx, "SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE database = current_database() ORDER BY 1")
	if err != nil {
		return 0, "", fmt.Errorf("source: %w", err)
	}
	if prepared, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return 0, "", fmt.Errorf("source: %w", err)
	}
	time.Sleep(2 * time.Millisecond)
	x2, l2, err := read()
	if err != nil {
		return 0, "", fmt.Errorf("source: %w", err)
	}
	if x2 != x1 && len(writers) == 0 {
		if writers, err = r.writers(ctx, r.src); err != nil {
			return 0, "", err
		}
	}
	r.res.Writers = writers
	r.fenceLSN = l1
	switch {
	case len(writers) > 0:
		names := make([]string, len(writers))
		for i, w := range writers {
			names[i] = w.String()
		}
		return 0, "", fmt.Errorf("%d session(s) write to the source outside the proxies: %s", len(writers), strings.Join(names, "; "))
	case len(prepared) > 0:
		return 0, "", fmt.Errorf("%d prepared transaction(s) on the source (%s): commit or roll them back first", len(prepared), strings.Join(prepared, ", "))
	case x2 != x1 && r.wit == nil:
		return 0, "", fmt.Errorf("transactions started on the source during the fence (next xid %d → %d) outside the proxies", x1, x2)
	}
	detail := fmt.Sprintf("no other writer; next xid %d stable", x1)
	if x2 != x1 {
		// Another database or autovacuum: the witness decides at catch-up.
		detail = fmt.Sprintf("no other writer in a transaction; next xid moved %d → %d elsewhere on the cluster (the witness slot checks this database's tables at catch-up)", x1, x2)
	}
	if l1 != l2 {
		detail += fmt.Sprintf("; WAL moved %s → %s without a transaction (background activity)", l1, l2)
	} else {
		detail += "; WAL insert position " + l1 + " stable"
	}
	return x1, detail, nil
}

// writers lists client sessions of this database other than ours holding
// a transaction id. Sessions of other databases on the cluster are not
// this switch's business: their writes are neither replicated nor moved.
func (r *run) writers(ctx context.Context, c *pgx.Conn) ([]Writer, error) {
	rows, err := c.Query(ctx, `SELECT pid, coalesce(usename::text, ''), coalesce(application_name, ''), coalesce(client_addr::text, ''),
		backend_xid::text, coalesce(state, ''), left(coalesce(query, ''), 200)
		FROM pg_catalog.pg_stat_activity
		WHERE backend_xid IS NOT NULL AND backend_type = 'client backend' AND datname = current_database()
			AND pid <> pg_backend_pid() AND pid <> ALL($1)
		ORDER BY pid`, r.srcPID)
	if err != nil {
		return nil, fmt.Errorf("reading pg_stat_activity: %w", err)
	}
	defer rows.Close()
	var out []Writer
	for rows.Next() {
		var w Writer
		if err := rows.Scan(&w.PID, &w.User, &w.ApplicationName, &w.ClientAddr, &w.XID, &w.State, &w.Query); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// catchUp writes the markers, proves no other transaction took an xid
// since the fence, waits for the target to show every marker, and makes the
// applied changes durable there.
func (r *run) catchUp(ctx context.Context, xmax uint64) (string, error) {
	t0 := time.Now()
	xid, err := r.writeMarkers(ctx)
	if err != nil {
		return "", err
	}
	var next uint64
	if err := r.src.QueryRow(ctx, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").Scan(&next); err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	witnessed := ""
	if xid != xmax || next != xid+1 {
		if r.wit == nil {
			ws, _ := r.writers(ctx, r.src)
			r.res.Writers = ws
			return "", fmt.Errorf("another transaction took an xid on the source after the fence (fence next xid %d, marker xid %d, now %d)", xmax, xid, next)
		}
		t1 := time.Now()
		// A transaction begun after the fence and still open is not in
		// the decoded WAL yet: it holds an xid, so look for it first.
		ws, err := r.writers(ctx, r.src)
		if err != nil {
			return "", err
		}
		if len(ws) > 0 {
			r.res.Writers = ws
			names := make([]string, len(ws))
			for i, w := range ws {
				names[i] = w.String()
			}
			return "", fmt.Errorf("%d session(s) began writing to the source after the fence, outside the proxies: %s", len(ws), strings.Join(names, "; "))
		}
		foreign, err := r.wit.changesAfter(ctx, r.fenceLSN, xid)
		if err != nil {
			return "", fmt.Errorf("source: %w", err)
		}
		if len(foreign) > 0 {
			r.res.Writers, _ = r.writers(ctx, r.src)
			return "", fmt.Errorf("%d transaction(s) outside the proxies changed tables on the source after the fence: %s", len(foreign), describeForeign(foreign))
		}
		witnessed = fmt.Sprintf("; %d xid(s) taken elsewhere on the cluster since the fence, none changed a table of this database (witness decoded in %s)",
			next-xmax-1, time.Since(t1).Round(time.Microsecond))
	}
	written := time.Since(t0)
	if err := r.waitMarkers(ctx); err != nil {
		return "", err
	}
	seen := time.Since(t0)
	// Every table still ready (a re-sync would apply outside the marker's order).
	var notReady int
	if err := r.tgt.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_subscription_rel r JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid
		WHERE r.srsubstate <> 'r' AND s.subname = ANY($1)`, r.subNames()).Scan(&notReady); err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	if notReady > 0 {
		return "", fmt.Errorf("%d table(s) of the subscription are no longer ready on the target", notReady)
	}
	// The apply worker commits with synchronous_commit off: a commit of our
	// own with synchronous_commit local flushes the WAL up to it, and so
	// every change applied before.
	var applied string
	if err := r.tgt.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&applied); err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	tx, err := r.tgt.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = local"); err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	// A transactional logical message: WAL of our own (a commit without any
	// is not flushed), no table touched.
	if _, err := tx.Exec(ctx, "SELECT pg_logical_emit_message(true, 'pgverify', 'switch: applied changes made durable')"); err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	var durable bool
	if err := r.tgt.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn", applied).Scan(&durable); err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	if !durable {
		return "", fmt.Errorf("target: WAL not flushed up to %s", applied)
	}
	return fmt.Sprintf("marker xid %d written in %s, applied on the target after %s, flushed to %s%s", xid,
		written.Round(time.Microsecond), seen.Round(time.Microsecond), applied, witnessed), nil
}

func (r *run) syncSequences(ctx context.Context) (string, error) {
	so := sequences.Options{Margin: r.opts.SequenceMargin}
	res, err := sequences.Sync(ctx, r.seqSrc, r.seqTgt, so)
	if err != nil {
		return "", err
	}
	for _, s := range res.Sequences {
		if s.Status == sequences.Synced {
			r.mu.Lock()
			r.res.SequencesSet++
			r.mu.Unlock()
		}
	}
	check, err := sequences.Compare(ctx, r.seqSrc, r.seqTgt, so)
	if err != nil {
		return "", err
	}
	var bad []string
	for _, s := range check.Sequences {
		if s.Status != sequences.Safe {
			bad = append(bad, fmt.Sprintf("%s.%s (%s)", s.Schema, s.Name, s.Status))
		}
	}
	if len(bad) > 0 {
		return "", fmt.Errorf("%d sequence(s) not safe after sync: %s", len(bad), strings.Join(bad, ", "))
	}
	return fmt.Sprintf("%d sequence(s) safe, %d moved forward (margin %d)", len(check.Sequences), r.res.SequencesSet, r.opts.SequenceMargin), nil
}

// reverse disables the forward subscriptions and subscribes the source to
// a publication of the same tables on the target, without copying: its
// slot is created now, while writes are held, so it sees every write the
// target takes after the resume.
func (r *run) reverse(ctx context.Context) (string, error) {
	t0 := time.Now()
	for _, s := range r.subs {
		if _, err := r.tgt.Exec(ctx, "ALTER SUBSCRIPTION "+pgx.Identifier{s.name}.Sanitize()+" DISABLE"); err != nil {
			return "", fmt.Errorf("target: disabling subscription %s: %w", s.name, err)
		}
	}
	disabled := time.Since(t0)
	var pubs []string
	for _, s := range r.subs {
		pubs = append(pubs, s.pubs...)
	}
	rows, err := r.src.Query(ctx, `SELECT DISTINCT format('%I.%I', schemaname, tablename) FROM pg_catalog.pg_publication_tables
		WHERE pubname = ANY($1) AND schemaname <> $2 ORDER BY 1`, pubs, MarkerSchema)
	if err != nil {
		return "", fmt.Errorf("source: reading publications: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("source: reading publications: %w", err)
	}
	if len(tables) == 0 {
		return "", errors.New("the forward publications hold no table")
	}
	id := pgx.Identifier{ReverseName}.Sanitize()
	if _, err := r.tgt.Exec(ctx, "CREATE PUBLICATION "+id+" FOR TABLE "+strings.Join(tables, ", ")); err != nil {
		return "", fmt.Errorf("target: creating publication %s: %w", ReverseName, err)
	}
	var lit string
	conninfo := r.opts.ReverseConnInfo
	if conninfo == "" {
		conninfo = r.opts.TargetDSN
	}
	if err := r.src.QueryRow(ctx, "SELECT quote_literal($1)", conninfo).Scan(&lit); err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	t1 := time.Now()
	if _, err := r.src.Exec(ctx, "CREATE SUBSCRIPTION "+id+" CONNECTION "+lit+" PUBLICATION "+id+" WITH (copy_data = false)"); err != nil {
		return "", fmt.Errorf("source: creating subscription %s: %w", ReverseName, err)
	}
	r.res.Reverse = ReverseName
	return fmt.Sprintf("forward subscription(s) disabled in %s; %s publishes %d table(s); subscription and slot created in %s",
		disabled.Round(time.Microsecond), ReverseName, len(tables), time.Since(t1).Round(time.Microsecond)), nil
}

func (r *run) switchAll(ctx context.Context, switched []bool) (string, error) {
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for i, d := range r.opts.Drivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			si, err := d.Switch(ctx, r.opts.TargetDSN)
			r.ack(i, "switch", t0, err)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err.Error())
				return
			}
			switched[i] = true
			r.res.Proxies[i].Switched = true
			r.res.Proxies[i].Switch = &si
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		return "", errors.New(strings.Join(errs, "; "))
	}
	moved, closed, failed := 0, 0, 0
	for _, p := range r.res.Proxies {
		moved += p.Switch.Moved
		closed += p.Switch.Closed
		failed += p.Switch.Failed
	}
	return fmt.Sprintf("%d session(s) moved, %d closed (state that cannot move), %d failed", moved, closed, failed), nil
}

// after watches the old cluster for stray writes, drops the forward
// subscription and runs the post-switch gate.
func (r *run) after(ctx context.Context) {
	src, tgt := r.res.Source, r.res.Target
	r.res.SwitchBack = fmt.Sprintf("pgverify switch --source '%s' --target '%s' --proxy ...", tgt, src)
	if !r.opts.Reverse {
		r.res.SwitchBack = "no reverse replication: writes on the target after the switch are not on the source; switching back loses them unless replicated first"
	}
	if r.opts.Watch > 0 {
		t0 := time.Now()
		seen := map[int]bool{}
		var stray []Writer
		deadline := time.Now().Add(r.opts.Watch)
		var err error
		for time.Now().Before(deadline) && ctx.Err() == nil {
			var ws []Writer
			if ws, err = r.writers(ctx, r.src); err != nil {
				break
			}
			for _, w := range ws {
				if !seen[w.PID] {
					seen[w.PID] = true
					stray = append(stray, w)
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		r.res.StrayWrites = stray
		switch {
		case err != nil:
			r.warn(PhaseAfter, "stray-write watch", "could not watch the old cluster: "+dbconn.Redact(err.Error()), time.Since(t0))
		case len(stray) > 0:
			names := make([]string, len(stray))
			for i, w := range stray {
				names[i] = w.String()
			}
			r.res.Steps = append(r.res.Steps, Step{Name: "stray-write watch", Phase: PhaseAfter, Status: StepFailed, Duration: time.Since(t0),
				Detail: fmt.Sprintf("WRITES ON THE OLD CLUSTER after the switch: %s", strings.Join(names, "; "))})
		default:
			r.res.Steps = append(r.res.Steps, Step{Name: "stray-write watch", Phase: PhaseAfter, Status: StepOK, Duration: time.Since(t0),
				Detail: fmt.Sprintf("no session wrote to the old cluster for %s", r.opts.Watch)})
		}
	}
	if r.opts.Reverse && !r.opts.KeepForward {
		t0 := time.Now()
		var errs []string
		for _, s := range r.subs {
			if _, err := r.tgt.Exec(ctx, "DROP SUBSCRIPTION "+pgx.Identifier{s.name}.Sanitize()); err != nil {
				errs = append(errs, s.name+": "+dbconn.Redact(err.Error()))
			}
		}
		if len(errs) > 0 {
			r.warn(PhaseAfter, "drop forward subscription", strings.Join(errs, "; "), time.Since(t0))
		} else {
			r.res.Steps = append(r.res.Steps, Step{Name: "drop forward subscription", Phase: PhaseAfter, Status: StepOK, Duration: time.Since(t0),
				Detail: fmt.Sprintf("%s dropped with its slot on the old cluster", strings.Join(r.subNames(), ", "))})
		}
	}
	if r.opts.PostGate && r.opts.Gate != GateNone {
		if r.opts.Reverse {
			// Let the reverse subscription stream before comparing live.
			time.Sleep(200 * time.Millisecond)
		}
		r.step(PhaseAfter, "post-switch gate", func() (string, error) { return r.gate(ctx, r.opts.TargetDSN, r.opts.SourceDSN) })
	}
}
