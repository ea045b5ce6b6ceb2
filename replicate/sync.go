package replicate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/replication"
	"github.com/pgverify/pgverify/schema/lint"
)

// TableSync is one table's initial sync.
type TableSync struct {
	Table string // schema.name, quoted where needed
	// State is pg_subscription_rel.srsubstate: i (init), d (data copy),
	// f (finished copy), s (synchronized), r (ready).
	State string
	// RowsCopied and BytesCopied come from pg_stat_progress_copy (PG 14+
	// targets) while the copy runs; EstRows is the source's estimate.
	RowsCopied, BytesCopied, EstRows int64
	// Done is set once the table is r or s; AlreadyReady when it was
	// ready before this run started (not copied again).
	Done, AlreadyReady bool
	// SyncedIn is how long this run watched it copy (0 when already ready).
	SyncedIn time.Duration

	schema, name string
	oid          int64
	started      time.Time
	pids         map[int32]bool
	// live says a sync worker ran for the table at the last sample;
	// exits counts workers that went away while the table was not synced
	// (a failed attempt: a successful copy leaves the table s or r).
	live  bool
	exits int64
}

// SyncSnapshot is the progress of the initial sync at one poll.
type SyncSnapshot struct {
	Tables  []TableSync
	Ready   int
	Elapsed time.Duration
	// RowsCopied counts rows of the tables still copying (live) plus the
	// estimates of the tables done in this run; EstRows the total estimate.
	RowsCopied, EstRows int64
	// SyncErrors is the count of failed table sync attempts seen in this
	// run (PG 15+ targets).
	SyncErrors int64
}

// Progress receives sync progress; report/ implements it (a live line on a
// terminal, a line per finished table otherwise). Calls come from Run's
// goroutine.
type Progress interface {
	Sync(SyncSnapshot)
}

func (r *run) stepSync(ctx context.Context) (StepStatus, string, error) {
	if r.tgt == nil || r.subOID == 0 {
		return StepPlanned, "wait for every table to reach state r, then for the target to catch up", nil
	}
	if r.opts.Plan {
		var total, ready int
		if err := r.tgt.QueryRow(ctx, query("sync_counts.sql"), r.subOID).Scan(&total, &ready); err != nil {
			return StepFailed, "", fmt.Errorf("target: reading pg_subscription_rel: %w", err)
		}
		return StepPlanned, fmt.Sprintf("%d of %d table(s) ready; wait for the rest, then for the target to catch up", ready, total), nil
	}
	t0 := time.Now()
	deadline := t0.Add(r.opts.SyncTimeout)
	srcEst := map[string]int64{}
	if tabs, err := listTables(ctx, r.src); err == nil {
		for _, t := range tabs {
			srcEst[t.schema+"."+t.name] = t.estRows
		}
	}
	major := r.tgtMajor()
	tables := map[int64]*TableSync{}
	var order []int64
	first := true
	var baseline int64 = -1
	var lastErrs int64
	diagnosed := map[string]bool{}
	var snap SyncSnapshot
	for {
		rows, err := r.tgt.Query(ctx, query("sync_state.sql"), r.subOID)
		if err != nil {
			return StepFailed, "", fmt.Errorf("target: reading pg_subscription_rel: %w", err)
		}
		seen := map[int64]bool{}
		for rows.Next() {
			var schema, name, state string
			var oid int64
			if err := rows.Scan(&schema, &name, &state, &oid); err != nil {
				rows.Close()
				return StepFailed, "", err
			}
			seen[oid] = true
			t := tables[oid]
			if t == nil {
				t = &TableSync{Table: displayName(schema, name), schema: schema, name: name, oid: oid,
					EstRows: srcEst[schema+"."+name], pids: map[int32]bool{}, started: time.Now()}
				tables[oid] = t
				order = append(order, oid)
				if first && (state == "r" || state == "s") {
					t.AlreadyReady = true
				}
			}
			t.State = state
			if !t.Done && (state == "r" || state == "s") {
				t.Done = true
				if !t.AlreadyReady {
					t.SyncedIn = time.Since(t.started)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return StepFailed, "", fmt.Errorf("target: reading pg_subscription_rel: %w", err)
		}
		first = false
		if major >= 14 {
			r.copyProgress(ctx, tables)
		}
		r.syncWorkers(ctx, tables)
		var errs int64 = -1
		if major >= 15 {
			var applyErrs int64
			if err := r.tgt.QueryRow(ctx, query("sync_errors.sql"), r.subOID).Scan(&errs, &applyErrs); err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return StepFailed, "", fmt.Errorf("target: reading pg_stat_subscription_stats: %w", err)
			}
			if baseline < 0 {
				baseline = errs
			}
		}
		snap = SyncSnapshot{Elapsed: time.Since(t0)}
		allReady := true
		var pending []*TableSync
		for _, oid := range order {
			t := tables[oid]
			if !seen[oid] {
				continue
			}
			if t.Done {
				snap.Ready++
				if !t.AlreadyReady {
					snap.RowsCopied += max(t.EstRows, t.RowsCopied)
				}
			} else {
				allReady = false
				pending = append(pending, t)
				snap.RowsCopied += t.RowsCopied
			}
			if !t.AlreadyReady {
				snap.EstRows += max(t.EstRows, t.RowsCopied)
			}
			snap.Tables = append(snap.Tables, *t)
		}
		if baseline >= 0 {
			snap.SyncErrors = errs - baseline
		}
		if r.opts.Progress != nil {
			r.opts.Progress.Sync(snap)
		}
		if allReady {
			break
		}
		// A failing table sync: sync_error_count rising (PG 15+), or a
		// table's sync worker restarting (older targets).
		failing := snap.SyncErrors > lastErrs
		attempts := snap.SyncErrors
		if major < 15 {
			for _, t := range pending {
				restarts := max(int64(len(t.pids)-1), t.exits)
				attempts = max(attempts, restarts)
				if restarts >= 1 && (!diagnosed[t.Table] || restarts >= 5) {
					failing = true
				}
			}
		}
		lastErrs = max(lastErrs, snap.SyncErrors)
		if failing {
			d, err := r.diagnose(ctx, pending)
			if err != nil {
				return StepFailed, "", err
			}
			if d != nil && (d.Cause != causeUnknown || attempts >= 5) {
				r.res.Diagnosis = d
				r.res.Tables = snap.Tables
				return StepFailed, fmt.Sprintf("%s does not sync: %s", d.Table, d.Cause), errStop
			}
			for _, t := range pending {
				diagnosed[t.Table] = true
			}
		}
		if time.Now().After(deadline) {
			r.res.Tables = snap.Tables
			var names []string
			for _, t := range pending {
				names = append(names, t.Table+" ("+t.State+")")
			}
			r.gate("initial sync", t0, Fail, fmt.Sprintf("%d of %d table(s) not ready after --sync-timeout %s: %s", len(pending), len(snap.Tables), r.opts.SyncTimeout, strings.Join(first5(names), ", ")))
			return StepFailed, "sync timeout", errStop
		}
		// Before PG 15 a failing sync worker is seen only while it lives
		// (often well under a second): sample the workers more often.
		wake := time.Now().Add(r.opts.Poll)
		for {
			step := r.opts.Poll
			if major < 15 {
				step = min(step, 100*time.Millisecond)
			}
			select {
			case <-ctx.Done():
				return StepFailed, "", ctx.Err()
			case <-time.After(step):
			}
			if !time.Now().Before(wake) {
				break
			}
			r.syncWorkers(ctx, tables)
		}
	}
	r.res.Tables = snap.Tables
	// Caught up: the subscriber confirmed everything the source had
	// committed when the last table became ready.
	link, err := replication.Detect(ctx, r.src, r.tgt)
	if err != nil {
		return StepFailed, "", err
	}
	caught := "no slot visible to confirm catch-up"
	if link != nil {
		lsn, err := replication.CurrentLSN(ctx, r.src)
		if err != nil {
			return StepFailed, "", err
		}
		ok, err := link.WaitFor(ctx, r.src, lsn, time.Until(deadline))
		if err != nil {
			return StepFailed, "", err
		}
		if !ok {
			r.gate("initial sync", t0, Fail, fmt.Sprintf("all %d table(s) ready, but the target did not catch up to %s within --sync-timeout", len(snap.Tables), lsn))
			return StepFailed, "catch-up timeout", errStop
		}
		caught = "caught up to source " + lsn
	}
	already := 0
	for _, t := range snap.Tables {
		if t.AlreadyReady {
			already++
		}
	}
	summary := fmt.Sprintf("%d table(s) ready (%d copied in this run, %d already ready), %s", len(snap.Tables), len(snap.Tables)-already, already, caught)
	r.gate("initial sync", t0, Pass, summary)
	if already == len(snap.Tables) {
		return StepSkipped, summary, nil
	}
	return StepDone, summary, nil
}

func first5(s []string) []string { return first(s, 5) }

func (r *run) copyProgress(ctx context.Context, tables map[int64]*TableSync) {
	rows, err := r.tgt.Query(ctx, query("copy_progress.sql"))
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var oid, tuples, bytes int64
		if rows.Scan(&oid, &tuples, &bytes) == nil {
			if t := tables[oid]; t != nil && !t.Done {
				t.RowsCopied, t.BytesCopied = tuples, bytes
			}
		}
	}
}

func (r *run) syncWorkers(ctx context.Context, tables map[int64]*TableSync) {
	rows, err := r.tgt.Query(ctx, query("sync_workers.sql"), r.subOID)
	if err != nil {
		return
	}
	now := map[int64]bool{}
	for rows.Next() {
		var oid int64
		var pid int32
		if rows.Scan(&oid, &pid) == nil {
			if t := tables[oid]; t != nil && oid != 0 {
				t.pids[pid] = true
				now[oid] = true
			}
		}
	}
	rows.Close()
	if rows.Err() != nil {
		return
	}
	for oid, t := range tables {
		if t.live && !now[oid] && !t.Done {
			var state string
			if r.tgt.QueryRow(ctx, query("rel_state.sql"), r.subOID, oid).Scan(&state) == nil &&
				(state == "i" || state == "d") {
				t.exits++
			}
		}
		t.live = now[oid]
	}
}

// Causes a diagnosis names.
const (
	causeLint       = "unqualified function reference"
	causeColumn     = "column missing on the target"
	causeDuplicates = "rows already on the target (duplicate keys)"
	causePrivilege  = "subscription owner may not insert"
	causeOwner      = "subscription owner cannot act as the table owner"
	causeRLS        = "row level security"
	causeUnknown    = "unknown"
)

// diagnose checks the usual causes of a failing table sync against the
// target's catalogs, most likely first.
func (r *run) diagnose(ctx context.Context, pending []*TableSync) (*Diagnosis, error) {
	if len(pending) == 0 {
		return nil, nil
	}
	lr, lerr := lint.LintDatabase(ctx, r.tgt, lint.Options{})
	if lerr != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for _, t := range pending {
		if lr != nil {
			if d := lintDiagnosis(lr, t, len(pending) == 1); d != nil {
				return d, nil
			}
		}
		srcCols, err := columns(ctx, r.src, t.schema, t.name)
		if err != nil {
			return nil, fmt.Errorf("source: reading columns of %s: %w", t.Table, err)
		}
		dstCols, err := columns(ctx, r.tgt, t.schema, t.name)
		if err != nil {
			return nil, fmt.Errorf("target: reading columns of %s: %w", t.Table, err)
		}
		var missing []string
		for _, c := range srcCols {
			if !slices.Contains(dstCols, c) {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			return &Diagnosis{Table: t.Table, Cause: causeColumn,
				Detail:   fmt.Sprintf("the source's column(s) %s are missing on the target: the sync worker cannot copy the rows", strings.Join(missing, ", ")),
				Fix:      fmt.Sprintf("ALTER TABLE %s ADD COLUMN ... on the target, as on the source", ident(t.schema, t.name)),
				Evidence: "pg_attribute on both sides"}, nil
		}
		var rowsThere bool
		if err := r.tgt.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM ONLY "+ident(t.schema, t.name)+")").Scan(&rowsThere); err == nil && rowsThere {
			return &Diagnosis{Table: t.Table, Cause: causeDuplicates,
				Detail:   "the target table already holds rows while its initial copy has not committed: the copy collides with them (duplicate key)",
				Fix:      fmt.Sprintf("TRUNCATE %s on the target (its rows are copied again from the source)", ident(t.schema, t.name)),
				Evidence: "committed rows visible on the target before the copy finished"}, nil
		}
		if !r.subOwnerSuper && r.subOwner != "" && r.tgtMajor() >= 16 {
			var canSwitch bool
			var tableOwner string
			if err := r.tgt.QueryRow(ctx, query("owner_switch.sql"), t.schema, t.name, r.subOwner, r.subOID).Scan(&canSwitch, &tableOwner); err == nil && !canSwitch {
				return &Diagnosis{Table: t.Table, Cause: causeOwner,
					Detail: fmt.Sprintf("the subscription owner %s cannot SET ROLE to %s, the owner of %s: on PG 16+ the sync and apply workers act as the table owner", r.subOwner, tableOwner, t.Table),
					Fix: fmt.Sprintf("on the target: have %s owned by a role %s may SET ROLE to (GRANT that role TO %s), or ALTER SUBSCRIPTION %s SET (run_as_owner = true) and GRANT INSERT, UPDATE, DELETE, TRUNCATE ON %s TO %s",
						t.Table, r.subOwner, pgx.Identifier{r.subOwner}.Sanitize(), pgx.Identifier{r.opts.Subscription}.Sanitize(), ident(t.schema, t.name), pgx.Identifier{r.subOwner}.Sanitize()),
					Evidence: "pg_subscription.subowner, pg_class.relowner, pg_has_role(..., 'SET')"}, nil
			}
		}
		if !r.subOwnerSuper && r.subOwner != "" {
			var rls, canInsert, bypass bool
			if err := r.tgt.QueryRow(ctx, query("table_access.sql"), t.schema, t.name, r.subOwner).Scan(&rls, &canInsert, &bypass); err == nil {
				if !canInsert {
					return &Diagnosis{Table: t.Table, Cause: causePrivilege,
						Detail: fmt.Sprintf("the subscription owner %s has no INSERT on %s", r.subOwner, t.Table),
						Fix:    fmt.Sprintf("GRANT INSERT, UPDATE, DELETE, TRUNCATE ON %s TO %s; on the target", ident(t.schema, t.name), pgx.Identifier{r.subOwner}.Sanitize())}, nil
				}
				if rls && !bypass {
					return &Diagnosis{Table: t.Table, Cause: causeRLS,
						Detail: fmt.Sprintf("row level security is enabled on %s and the subscription owner %s does not bypass it", t.Table, r.subOwner),
						Fix:    fmt.Sprintf("ALTER ROLE %s BYPASSRLS; on the target (or own the subscription as a superuser)", pgx.Identifier{r.subOwner}.Sanitize())}, nil
				}
			}
		}
	}
	names := make([]string, len(pending))
	for i, t := range pending {
		names[i] = t.Table
	}
	return &Diagnosis{Table: strings.Join(names, ", "), Cause: causeUnknown,
		Detail: "the table sync keeps failing and no known cause shows in the catalogs",
		Fix:    "read the target server's log for the sync worker's error"}, nil
}

// lintDiagnosis picks the finding whose root is on table t (or, when only
// one table is pending, any reachable finding).
func lintDiagnosis(lr *lint.Result, t *TableSync, only bool) *Diagnosis {
	var pick *lint.Finding
	for i := range lr.Findings {
		f := &lr.Findings[i]
		if f.Severity != lint.Error {
			continue
		}
		root := f.Object
		if len(f.Chain) > 0 {
			root = f.Chain[0]
		}
		if strings.Contains(root, " "+t.Table) || strings.Contains(root, ident(t.schema, t.name)) ||
			strings.HasSuffix(root, "."+t.name) {
			pick = f
			break
		}
		if only && pick == nil {
			pick = f
		}
	}
	if pick == nil {
		return nil
	}
	chain := pick.Object
	if len(pick.Chain) > 0 {
		chain = strings.Join(pick.Chain, " → ")
	}
	fix := strings.Join(strings.Fields(pick.Fix), " ")
	if fix == "" {
		fix = pick.Remediation
	}
	return &Diagnosis{Table: t.Table, Cause: causeLint,
		Detail:   fmt.Sprintf("%s: %s (reached by %s); the apply worker runs with an empty search_path", pick.Object, pick.Message, chain),
		Fix:      fix + " (on the target; the sync retries by itself)",
		Evidence: "pg_stat_subscription_stats.sync_error_count rising / sync worker restarting, and lint of the target's live catalog"}
}

func columns(ctx context.Context, c *pgx.Conn, schema, name string) ([]string, error) {
	rows, err := c.Query(ctx, query("columns.sql"), schema, name)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
