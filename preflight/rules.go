package preflight

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgverify/pgverify/schema/lint"
)

// Codes outside the rule list.
const (
	codeNotChecked = "PF099" // a rule lacked privileges
	codeSkipped    = "PF098" // target rules skipped without --target
)

// rules in code order. Codes are stable: never renumber, only append.
var rules = []rule{
	{code: "PF001", title: "wal_level is not logical", run: ruleWalLevel},
	{code: "PF002", title: "source replication capacity", run: ruleSourceCapacity},
	{code: "PF003", title: "target replication capacity", needsTarget: true, run: ruleTargetCapacity},
	{code: "PF004", title: "tables without a usable replica identity", run: ruleReplicaIdentity},
	{code: "PF005", title: "REPLICA IDENTITY FULL on columns without equality", run: ruleFullWithoutEquality},
	{code: "PF006", title: "tables without a primary key", run: ruleNoPrimaryKey},
	{code: "PF007", title: "unlogged tables are not replicated", run: ruleUnlogged},
	{code: "PF008", title: "large objects are not replicated", run: ruleLargeObjects},
	{code: "PF009", title: "materialized views are not replicated", run: ruleMatviews},
	{code: "PF010", title: "foreign tables are not replicated", run: ruleForeignTables},
	{code: "PF011", title: "partitioned tables", run: rulePartitioned},
	{code: "PF012", title: "extensions on the target", needsTarget: true, run: ruleExtensions},
	{code: "PF013", title: "existing replication slots", run: ruleExistingSlots},
	{code: "PF014", title: "long-running transactions", run: ruleLongTransactions},
	{code: "PF015", title: "prepared transactions", run: rulePrepared},
	{code: "PF016", title: "collation version drift", run: ruleCollations},
	{code: "PF017", title: "unqualified names reached by the apply worker", run: ruleUnqualified},
	{code: "PF018", title: "triggers that fire on the subscriber", run: ruleTriggers},
	{code: "PF019", title: "generated columns are recomputed on the subscriber", run: ruleGenerated},
	{code: "PF020", title: "sequences are not replicated", run: ruleSequences},
	{code: "PF021", title: "subscription disabled or failing", needsTarget: true, run: ruleSubscriptionState},
	{code: "PF022", title: "subscription tables not ready", needsTarget: true, run: ruleSubscriptionTables},
	{code: "PF023", title: "subscription slot lag and WAL retention", needsTarget: true, run: ruleSlotLag},
	{code: "PF024", title: "subscription slot invalidated", needsTarget: true, run: ruleSlotInvalidated},
	{code: "PF025", title: "constraints or indexes that read other tables", run: ruleCrossTable},
}

// sides returns the source, and the target when given: rules about what the
// apply worker will run are checked where it runs too.
func (e *env) sides() []*server {
	if e.dst != nil {
		return []*server{e.src, e.dst}
	}
	return []*server{e.src}
}

// ---- settings and capacity -------------------------------------------------

func ruleWalLevel(_ context.Context, e *env) ([]Finding, error) {
	lvl := e.src.settings["wal_level"]
	if lvl == "logical" {
		return nil, nil
	}
	return []Finding{{Severity: Blocker, Side: SideSource, Objects: []string{"wal_level"},
		Detail: fmt.Sprintf("The source runs with wal_level = %s; a publication needs logical decoding, "+
			"so the subscription cannot be created.", lvl),
		Remedy: "ALTER SYSTEM SET wal_level = logical; then restart the source server.",
	}}, nil
}

type usage struct {
	Slots   int64 `db:"slots"`
	Senders int64 `db:"senders"`
	Origins int64 `db:"origins"`
}

func (e *env) usage(ctx context.Context, s *server) (usage, error) {
	us, err := collect[usage](ctx, s, "usage.sql")
	if err != nil || len(us) != 1 {
		return usage{}, err
	}
	return us[0], nil
}

// targetWorkers is what target_workers.sql reads: the logical replication
// workers other databases' subscriptions hold or will claim, and which.
type targetWorkers struct {
	Used    int64    `db:"used"`
	Holders []string `db:"holders"`
}

// syncWorkers is how many table-sync workers the subscriber may run at once,
// each needing a slot and a WAL sender on the source during the initial copy.
func (e *env) syncWorkers() int64 {
	if e.dst != nil {
		if n := e.dst.intSetting("max_sync_workers_per_subscription"); n >= 0 {
			return n
		}
	}
	return 2 // the default
}

func ruleSourceCapacity(ctx context.Context, e *env) ([]Finding, error) {
	u, err := e.usage(ctx, e.src)
	if err != nil {
		return nil, err
	}
	// A subscription that already streams has its slot; only sync needs more.
	need := int64(1)
	if e.dst != nil {
		subs, err := e.subscriptions(ctx)
		if err != nil {
			return nil, err
		}
		slots, err := e.sourceSlots(ctx)
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			if _, ok := slots[sub.Slot]; ok {
				need = 0
			}
		}
	}
	sync := e.syncWorkers()
	var out []Finding
	check := func(setting, what string, used int64) {
		limit := e.src.intSetting(setting)
		free := limit - used
		suggest := used + 1 + sync + 2
		switch {
		case free < need:
			out = append(out, Finding{Severity: Blocker, Side: SideSource, Objects: []string{setting},
				Title: "no free " + what + " on the source",
				Detail: fmt.Sprintf("%s = %d and %d are in use; the subscription needs one, and the initial "+
					"table sync one more per sync worker (%d).", setting, limit, used, sync),
				Remedy: fmt.Sprintf("ALTER SYSTEM SET %s = %d; then restart the source server.", setting, suggest),
			})
		case free < need+sync:
			out = append(out, Finding{Severity: Warning, Side: SideSource, Objects: []string{setting},
				Title: "few free " + what + " on the source",
				Detail: fmt.Sprintf("%s = %d and %d are in use (%d free); the subscription needs %d, plus one "+
					"per table-sync worker (%d) during the initial copy, which otherwise retries and runs slower.",
					setting, limit, used, free, need, sync),
				Remedy: fmt.Sprintf("ALTER SYSTEM SET %s = %d; then restart the source server.", setting, suggest),
			})
		}
	}
	check("max_replication_slots", "replication slots", u.Slots)
	check("max_wal_senders", "WAL senders", u.Senders)
	return out, nil
}

func ruleTargetCapacity(ctx context.Context, e *env) ([]Finding, error) {
	u, err := e.usage(ctx, e.dst)
	if err != nil {
		return nil, err
	}
	subs, err := e.subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	need := int64(1)
	if len(subs) > 0 {
		need = 0
	}
	sync := e.syncWorkers()
	workers := e.dst.intSetting("max_logical_replication_workers")
	procs := e.dst.intSetting("max_worker_processes")
	originsName := e.dst.originsSetting()
	origins := e.dst.intSetting(originsName)
	restart := "; then restart the target server."
	// Workers other subscriptions of the cluster hold or will claim.
	others, err := collect[targetWorkers](ctx, e.dst, "target_workers.sql")
	if err != nil {
		return nil, err
	}
	var held targetWorkers
	if len(others) == 1 {
		held = others[0]
	}
	free := workers - held.Used
	var out []Finding
	switch {
	case workers == 0:
		out = append(out, Finding{Severity: Blocker, Side: SideTarget, Objects: []string{"max_logical_replication_workers"},
			Title:  "no logical replication workers on the target",
			Detail: "max_logical_replication_workers = 0: no apply worker can run.",
			Remedy: fmt.Sprintf("ALTER SYSTEM SET max_logical_replication_workers = %d%s", 2+sync, restart),
		})
	case held.Used > 0 && free < 1+sync:
		sev, stalls := Warning, "table sync runs with fewer workers than max_sync_workers_per_subscription allows"
		switch {
		case free < 1:
			sev, stalls = Blocker, "no worker is left for this subscription's apply worker"
		case free < 2:
			stalls = "the apply worker takes the last one and the initial table sync stalls, waiting for a free worker, " +
				"with only a WARNING \"out of logical replication worker slots\" in the target's log"
		}
		out = append(out, Finding{Severity: sev, Side: SideTarget,
			Objects: append([]string{"max_logical_replication_workers"}, held.Holders...),
			Title:   "logical replication workers on the target used by other subscriptions",
			Detail: fmt.Sprintf("max_logical_replication_workers = %d is one pool for the whole target cluster, and other "+
				"subscriptions hold or will claim %d of its workers (%s), leaving %d; this subscription needs one apply "+
				"worker plus %d table-sync workers (max_sync_workers_per_subscription), %d: %s.",
				workers, held.Used, strings.Join(held.Holders, ", "), max(free, 0), sync, 1+sync, stalls),
			Remedy: fmt.Sprintf("ALTER SYSTEM SET max_logical_replication_workers = %d%s Or disable the other subscriptions "+
				"while this one syncs (ALTER SUBSCRIPTION ... DISABLE).", held.Used+2+sync, restart),
		})
	case workers < 1+sync:
		out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: []string{"max_logical_replication_workers"},
			Title: "few logical replication workers on the target",
			Detail: fmt.Sprintf("max_logical_replication_workers = %d; one apply worker plus %d table-sync workers "+
				"per subscription need %d.", workers, sync, 1+sync),
			Remedy: fmt.Sprintf("ALTER SYSTEM SET max_logical_replication_workers = %d%s", 2+sync, restart),
		})
	}
	switch {
	case origins == 0 || origins-u.Origins < need:
		out = append(out, Finding{Severity: Blocker, Side: SideTarget, Objects: []string{originsName},
			Title: "no free replication origin on the target",
			Detail: fmt.Sprintf("%s = %d caps replication origins on the subscriber and %d exist; "+
				"the subscription needs one.", originsName, origins, u.Origins),
			Remedy: fmt.Sprintf("ALTER SYSTEM SET %s = %d%s", originsName, u.Origins+2+sync, restart),
		})
	case origins-u.Origins < need+sync:
		out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: []string{originsName},
			Title: "few free replication origins on the target",
			Detail: fmt.Sprintf("%s = %d and %d origins exist; table sync uses one origin per sync worker (%d).",
				originsName, origins, u.Origins, sync),
			Remedy: fmt.Sprintf("ALTER SYSTEM SET %s = %d%s", originsName, u.Origins+2+sync, restart),
		})
	}
	if workers > 0 && procs >= 0 && procs < workers+1 {
		out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: []string{"max_worker_processes"},
			Title: "max_worker_processes below logical replication needs",
			Detail: fmt.Sprintf("max_worker_processes = %d must cover the launcher and %d replication workers "+
				"(plus parallel query and other background workers).", procs, workers),
			Remedy: fmt.Sprintf("ALTER SYSTEM SET max_worker_processes = %d%s", workers+8, restart),
		})
	}
	return out, nil
}

// ---- tables ----------------------------------------------------------------

type relation struct {
	Object        string   `db:"object"`
	Schema        string   `db:"schema"`
	Name          string   `db:"name"`
	RootSchema    string   `db:"root_schema"`
	RootName      string   `db:"root_name"`
	Kind          string   `db:"kind"`
	Persistence   string   `db:"persistence"`
	Replident     string   `db:"replident"`
	IsPartition   bool     `db:"is_partition"`
	HasPK         bool     `db:"has_pk"`
	IdentityOK    bool     `db:"identity_ok"`
	FullWithoutEq []string `db:"full_without_eq"`
	Generated     []string `db:"generated"`
	ForeignServer string   `db:"foreign_server"`
}

// relations returns the user relations of a side selected by --table and
// --exclude (matched on the partition root or the owning table).
func (e *env) relations(ctx context.Context, s *server) ([]relation, error) {
	if r, ok := e.rels[s.side]; ok {
		return r, nil
	}
	all, err := collect[relation](ctx, s, "relations.sql")
	if err != nil {
		return nil, err
	}
	// A --table pattern that matches nothing is a typo, not a clean bill.
	if s.side == SideSource {
		var keys [][2]string
		for _, r := range all {
			keys = append(keys, [2]string{r.RootSchema, r.RootName})
		}
		if un := e.opts.Selection.Unmatched(keys); len(un) > 0 {
			return nil, &SelectionError{Patterns: un}
		}
	}
	var out []relation
	for _, r := range all {
		if e.opts.Selection.Match(r.RootSchema, r.RootName) {
			out = append(out, r)
		}
	}
	e.rels[s.side] = out
	return out, nil
}

// pick returns the objects of the source relations for which keep is true.
func (e *env) pick(ctx context.Context, keep func(relation) bool) ([]relation, error) {
	rels, err := e.relations(ctx, e.src)
	if err != nil {
		return nil, err
	}
	var out []relation
	for _, r := range rels {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func objects(rs []relation) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Object
	}
	return out
}

func isTable(r relation) bool { return r.Kind == "r" || r.Kind == "p" }

func ruleReplicaIdentity(ctx context.Context, e *env) ([]Finding, error) {
	// Leaves carry the identity that UPDATE/DELETE check; unlogged tables
	// are never published (PF007).
	rs, err := e.pick(ctx, func(r relation) bool {
		return r.Kind == "r" && r.Persistence == "p" && !r.IdentityOK
	})
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	var lines []string
	for _, r := range rs {
		why := "no primary key"
		switch r.Replident {
		case "n":
			why = "REPLICA IDENTITY NOTHING"
		case "i":
			why = "REPLICA IDENTITY USING INDEX names no valid index"
		}
		lines = append(lines, r.Object+": "+why)
	}
	return []Finding{{Severity: Critical, Side: SideSource, Objects: objects(rs),
		Detail: "Once published, UPDATE and DELETE on these tables fail on the source (\"cannot update table " +
			"... because it does not have a replica identity and publishes updates\").\n" + strings.Join(lines, "\n"),
		Remedy: fmt.Sprintf("Add a primary key, or point the identity at a unique index on NOT NULL columns "+
			"(ALTER TABLE %s REPLICA IDENTITY USING INDEX <index>;), or as a last resort "+
			"ALTER TABLE %s REPLICA IDENTITY FULL; (each UPDATE/DELETE then scans the table on the subscriber).",
			rs[0].Object, rs[0].Object),
	}}, nil
}

func ruleFullWithoutEquality(ctx context.Context, e *env) ([]Finding, error) {
	rs, err := e.pick(ctx, func(r relation) bool { return r.Kind == "r" && len(r.FullWithoutEq) > 0 })
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	var lines []string
	for _, r := range rs {
		lines = append(lines, r.Object+": "+strings.Join(r.FullWithoutEq, ", "))
	}
	return []Finding{{Severity: Critical, Side: SideSource, Objects: objects(rs),
		Detail: "With REPLICA IDENTITY FULL the subscriber finds the old row by comparing every column; these " +
			"column types have no equality operator, so the apply worker stops on the first UPDATE or DELETE " +
			"(\"could not identify an equality operator for type ...\").\n" + strings.Join(lines, "\n"),
		Remedy: fmt.Sprintf("Give the table a primary key or a unique index on NOT NULL columns and use it: "+
			"ALTER TABLE %s REPLICA IDENTITY DEFAULT; (or USING INDEX <index>).", rs[0].Object),
	}}, nil
}

func ruleNoPrimaryKey(ctx context.Context, e *env) ([]Finding, error) {
	rs, err := e.pick(ctx, func(r relation) bool {
		return isTable(r) && !r.IsPartition && !r.HasPK && r.Persistence == "p"
	})
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return []Finding{{Severity: Warning, Side: SideSource, Objects: objects(rs),
		Detail: "Without a primary key a table can only be replicated with REPLICA IDENTITY FULL or a unique " +
			"index (see PF004), and with FULL every UPDATE/DELETE scans the table on the subscriber. " +
			"pgverify sample skips such tables; pgverify tables compares them as multisets of rows.",
		Remedy: fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (<columns>); where the data allows.", rs[0].Object),
	}}, nil
}

func ruleUnlogged(ctx context.Context, e *env) ([]Finding, error) {
	rs, err := e.pick(ctx, func(r relation) bool { return isTable(r) && r.Persistence == "u" })
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return []Finding{{Severity: Critical, Side: SideSource, Objects: objects(rs),
		Detail: "Unlogged tables write no WAL, so logical replication never sends their rows: on the target " +
			"they stay empty.",
		Remedy: fmt.Sprintf("ALTER TABLE %s SET LOGGED; (rewrites the table and then writes WAL), or copy "+
			"their rows during the switchover window, or accept losing them.", rs[0].Object),
	}}, nil
}

func ruleLargeObjects(ctx context.Context, e *env) ([]Finding, error) {
	var n int64
	if err := e.src.conn.QueryRow(ctx, query("largeobjects.sql")).Scan(&n); err != nil {
		return nil, &sideError{SideSource, fmt.Errorf("largeobjects.sql: %w", err)}
	}
	if n == 0 {
		return nil, nil
	}
	return []Finding{{Severity: Critical, Side: SideSource,
		Objects: []string{fmt.Sprintf("pg_largeobject (%d large objects)", n)},
		Detail: fmt.Sprintf("The source holds %d large objects. Logical replication does not copy "+
			"pg_largeobject: on the target every lo_get/lo_open of them fails.", n),
		Remedy: "Copy them after writes stop at switchover (pg_dump --large-objects, named --blobs before " +
			"16, with pg_restore --data-only), or move them into bytea columns before the move. " +
			"Compare SELECT count(*) FROM pg_largeobject_metadata on both sides afterwards.",
	}}, nil
}

func ruleMatviews(ctx context.Context, e *env) ([]Finding, error) {
	rs, err := e.pick(ctx, func(r relation) bool { return r.Kind == "m" })
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return []Finding{{Severity: Warning, Side: SideSource, Objects: objects(rs),
		Detail: "Materialized views are not replicated; on the target they keep what they held when created.",
		Remedy: fmt.Sprintf("REFRESH MATERIALIZED VIEW %s; on the target after the data has caught up "+
			"(on 17+ the refresh runs with search_path = pg_catalog, pg_temp: qualify the names its "+
			"functions use).", rs[0].Object),
	}}, nil
}

func ruleForeignTables(ctx context.Context, e *env) ([]Finding, error) {
	rs, err := e.pick(ctx, func(r relation) bool { return r.Kind == "f" })
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	servers := map[string]bool{}
	for _, r := range rs {
		servers[r.ForeignServer] = true
	}
	return []Finding{{Severity: Warning, Side: SideSource, Objects: objects(rs),
		Detail: "Foreign tables cannot be published; their data stays on the foreign servers (" +
			strings.Join(sortedKeys(servers), ", ") + "), which the target must reach.",
		Remedy: "Create the foreign servers and user mappings on the target (a schema-only dump does not " +
			"carry user-mapping passwords you cannot read), and check the target's network access to them.",
	}}, nil
}

type publication struct {
	Name    string `db:"pubname"`
	AllTabs bool   `db:"puballtables"`
	ViaRoot bool   `db:"pubviaroot"`
}

type extension struct {
	Name    string `db:"extname"`
	Version string `db:"extversion"`
}

func rulePartitioned(ctx context.Context, e *env) ([]Finding, error) {
	rs, err := e.pick(ctx, func(r relation) bool { return r.Kind == "p" && !r.IsPartition })
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	pubs, err := collect[publication](ctx, e.src, "publications.sql")
	if err != nil {
		return nil, err
	}
	exts, err := collect[extension](ctx, e.src, "extensions.sql")
	if err != nil {
		return nil, err
	}
	detail := "A publication sends changes of partitions under the leaf partitions' names unless it is " +
		"created WITH (publish_via_partition_root = true), so the target then needs the very same " +
		"partitions. New partitions are DDL: they are not replicated and must exist on the target " +
		"before rows arrive in them."
	var leafPubs []string
	for _, p := range pubs {
		if !p.ViaRoot {
			leafPubs = append(leafPubs, p.Name)
		}
	}
	if len(leafPubs) > 0 {
		detail += "\nPublications without publish_via_partition_root: " + strings.Join(leafPubs, ", ")
	}
	for _, x := range exts {
		if x.Name == "pg_partman" {
			detail += "\npg_partman is installed: run its maintenance on the target too, ahead of the source."
		}
	}
	return []Finding{{Severity: Warning, Side: SideSource, Objects: objects(rs),
		Detail: detail,
		Remedy: "CREATE PUBLICATION <name> FOR ALL TABLES WITH (publish_via_partition_root = true); when the " +
			"target partitions differently, and create upcoming partitions on the target first.",
	}}, nil
}

func ruleGenerated(ctx context.Context, e *env) ([]Finding, error) {
	rs, err := e.pick(ctx, func(r relation) bool { return r.Kind == "r" && !r.IsPartition && len(r.Generated) > 0 })
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	var objs []string
	for _, r := range rs {
		for _, c := range r.Generated {
			objs = append(objs, r.Object+"."+c)
		}
	}
	detail := "Stored generated columns are not sent by a publication before 18: the subscriber computes " +
		"them again, so they match only if the expression and the functions it calls give the same result " +
		"on the target (pgverify tables and sample compare them)."
	if e.src.publishesGeneratedColumns() {
		detail += " On 18+ a publication can send them (publish_generated_columns = stored) if the target " +
			"column is not generated."
	}
	return []Finding{{Severity: Info, Side: SideSource, Objects: objs, Detail: detail,
		Remedy: "Nothing to do when the expressions are deterministic; otherwise compare them after the copy.",
	}}, nil
}

func ruleSequences(ctx context.Context, e *env) ([]Finding, error) {
	rs, err := e.pick(ctx, func(r relation) bool { return r.Kind == "S" })
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return []Finding{{Severity: Warning, Side: SideSource, Objects: objects(rs),
		Detail: "Logical replication does not replicate sequence values: after the switch the target would " +
			"hand out ids the source already used.",
		Remedy: "At switchover, after writes stop, move every sequence to at least the source's value " +
			"(pgverify sequences checks it; SELECT setval(...) on the target sets it).",
	}}, nil
}

// ---- sessions and slots ----------------------------------------------------

type slot struct {
	Name               string `db:"slot_name"`
	Type               string `db:"slot_type"`
	Plugin             string `db:"plugin"`
	Database           string `db:"database"`
	ThisDB             bool   `db:"this_db"`
	Active             bool   `db:"active"`
	Temporary          bool   `db:"temporary"`
	WalStatus          string `db:"wal_status"`
	SafeWalSize        *int64 `db:"safe_wal_size"`
	RetainedBytes      *int64 `db:"retained_bytes"`
	LagBytes           *int64 `db:"lag_bytes"`
	InvalidationReason string `db:"invalidation_reason"`
	Consumer           string `db:"consumer"`
}

func (e *env) sourceSlots(ctx context.Context) (map[string]slot, error) {
	if e.slots == nil {
		s, err := collect[slot](ctx, e.src, "slots.sql")
		if err != nil {
			return nil, err
		}
		e.slots = append([]slot{}, s...)
	}
	out := map[string]slot{}
	for _, s := range e.slots {
		out[s.Name] = s
	}
	return out, nil
}

func ruleExistingSlots(ctx context.Context, e *env) ([]Finding, error) {
	slots, err := e.sourceSlots(ctx)
	if err != nil {
		return nil, err
	}
	// The target's subscriptions own their slot and, during the initial
	// copy, table-sync slots named pg_<subscription oid>_sync_<table>_<system>.
	ours := map[string]bool{}
	var syncPrefixes []string
	if e.dst != nil {
		subs, err := e.subscriptions(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			ours[s.Slot] = true
			syncPrefixes = append(syncPrefixes, fmt.Sprintf("pg_%d_sync_", s.OID))
		}
	}
	isOurs := func(name string) bool {
		for _, p := range syncPrefixes {
			// Without the subscription's oid any table-sync slot may be ours.
			if strings.HasPrefix(name, p) || (p == "pg_0_sync_" && tableSyncSlot.MatchString(name)) {
				return true
			}
		}
		return ours[name]
	}
	var inactive, logical, physical []slot
	for _, name := range sortedKeys(slots) {
		s := slots[name]
		// Other databases' logical slots are not this move's business.
		if isOurs(s.Name) || (s.Type == "logical" && !s.ThisDB) {
			continue
		}
		switch {
		case !s.Active:
			inactive = append(inactive, s)
		case s.Type == "logical":
			logical = append(logical, s)
		default:
			physical = append(physical, s)
		}
	}
	var out []Finding
	if len(inactive) > 0 {
		var names, lines []string
		for _, s := range inactive {
			names = append(names, s.Name)
			lines = append(lines, fmt.Sprintf("%s (%s%s): retains %s of WAL, wal_status %s",
				s.Name, s.Type, prefixed(", plugin ", s.Plugin), bytesOf(s.RetainedBytes), orDash(s.WalStatus)))
		}
		out = append(out, Finding{Severity: Warning, Side: SideSource, Objects: names,
			Title:  "inactive replication slots",
			Detail: "No consumer is connected to these slots; they hold WAL on the source and use up slots.\n" + strings.Join(lines, "\n"),
			Remedy: fmt.Sprintf("Drop the ones no longer needed: SELECT pg_drop_replication_slot('%s');", inactive[0].Name),
		})
	}
	if len(logical) > 0 {
		var names, lines []string
		for _, s := range logical {
			names = append(names, s.Name)
			lines = append(lines, fmt.Sprintf("%s (plugin %s, consumer %s)", s.Name, orDash(s.Plugin), orDash(s.Consumer)))
		}
		out = append(out, Finding{Severity: Warning, Side: SideSource, Objects: names,
			Title: "other logical replication consumers",
			Detail: "These logical slots feed other consumers (CDC such as Debezium, other subscriptions). " +
				"They do not follow the move: at switchover each needs a slot on the target created at the " +
				"right position, or it misses or repeats changes.\n" + strings.Join(lines, "\n"),
			Remedy: "Plan each consumer's switch: create its slot on the target before the switch and map " +
				"its position (pg_replication_origin_progress), then repoint it.",
		})
	}
	if len(physical) > 0 {
		var names, lines []string
		for _, s := range physical {
			names = append(names, s.Name)
			lines = append(lines, fmt.Sprintf("%s (consumer %s)", s.Name, orDash(s.Consumer)))
		}
		out = append(out, Finding{Severity: Info, Side: SideSource, Objects: names,
			Title:  "physical standbys",
			Detail: "Physical standbys of the source stay on the old major; they use WAL senders too (PF002).\n" + strings.Join(lines, "\n"),
			Remedy: "Build the target's standbys before the switch if the target needs them.",
		})
	}
	return out, nil
}

type transaction struct {
	PID    int32   `db:"pid"`
	User   string  `db:"usename"`
	DB     string  `db:"datname"`
	App    string  `db:"application_name"`
	State  string  `db:"state"`
	Age    float64 `db:"age_seconds"`
	HasXID bool    `db:"has_xid"`
}

func ruleLongTransactions(ctx context.Context, e *env) ([]Finding, error) {
	txs, err := collect[transaction](ctx, e.src, "transactions.sql", e.opts.LongTransaction.Seconds())
	if err != nil || len(txs) == 0 {
		return nil, err
	}
	var objs, lines []string
	for _, t := range txs {
		objs = append(objs, fmt.Sprintf("pid %d", t.PID))
		xid := "no xid"
		if t.HasXID {
			xid = "holds an xid"
		}
		lines = append(lines, fmt.Sprintf("pid %d: %s@%s, application %s, %s, open %s, %s",
			t.PID, orDash(t.User), orDash(t.DB), orDash(t.App), orDash(t.State), age(t.Age), xid))
	}
	return []Finding{{Severity: Warning, Side: SideSource, Objects: objs,
		Detail: fmt.Sprintf("Transactions open longer than %s. Creating the subscription's slot (and each "+
			"table-sync slot) waits until every transaction holding an xid has ended, and at switchover "+
			"the writes must stop.\n%s", e.opts.LongTransaction, strings.Join(lines, "\n")),
		Remedy: fmt.Sprintf("Let them finish or end them: SELECT pg_cancel_backend(%d); "+
			"(pg_terminate_backend if idle in transaction).", txs[0].PID),
	}}, nil
}

type prepared struct {
	GID   string  `db:"gid"`
	Owner string  `db:"owner"`
	DB    string  `db:"database"`
	Age   float64 `db:"age_seconds"`
}

func rulePrepared(ctx context.Context, e *env) ([]Finding, error) {
	ps, err := collect[prepared](ctx, e.src, "prepared.sql")
	if err != nil || len(ps) == 0 {
		return nil, err
	}
	var objs, lines []string
	for _, p := range ps {
		objs = append(objs, p.GID)
		lines = append(lines, fmt.Sprintf("%s: owner %s, database %s, prepared %s ago", p.GID, orDash(p.Owner), orDash(p.DB), age(p.Age)))
	}
	return []Finding{{Severity: Warning, Side: SideSource, Objects: objs,
		Detail: "Prepared transactions stay open until committed or rolled back, even across restarts: slot " +
			"creation waits for them and they hold back VACUUM.\n" + strings.Join(lines, "\n"),
		Remedy: fmt.Sprintf("In its database: COMMIT PREPARED '%s'; or ROLLBACK PREPARED '%s';", ps[0].GID, ps[0].GID),
	}}, nil
}

// ---- collations, functions, triggers ---------------------------------------

type collationDrift struct {
	Name     string `db:"collation"`
	Recorded string `db:"recorded"`
	Actual   string `db:"actual"`
}

type databaseDrift struct {
	Name     string `db:"datname"`
	Recorded string `db:"recorded"`
	Actual   string `db:"actual"`
}

func ruleCollations(ctx context.Context, e *env) ([]Finding, error) {
	var out []Finding
	for _, s := range e.sides() {
		cs, err := collect[collationDrift](ctx, s, "collations.sql")
		if err != nil {
			return nil, err
		}
		var objs, lines []string
		for _, c := range cs {
			objs = append(objs, c.Name)
			lines = append(lines, fmt.Sprintf("collation %s: recorded version %s, library provides %s", c.Name, c.Recorded, orDash(c.Actual)))
		}
		if s.hasDatabaseCollationVersion() {
			ds, err := collect[databaseDrift](ctx, s, "database_collation.sql")
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				objs = append(objs, "database "+d.Name)
				lines = append(lines, fmt.Sprintf("database %s: recorded collation version %s, library provides %s", d.Name, d.Recorded, orDash(d.Actual)))
			}
		}
		if len(objs) == 0 {
			continue
		}
		out = append(out, Finding{Severity: Warning, Side: s.side, Objects: objs,
			Detail: "The collation library changed since these versions were recorded: indexes on text using " +
				"them may be out of order, so lookups can miss rows and unique indexes admit duplicates.\n" +
				strings.Join(lines, "\n"),
			Remedy: "REINDEX the indexes that use them, then ALTER COLLATION <name> REFRESH VERSION; " +
				"(for the database: ALTER DATABASE <name> REFRESH COLLATION VERSION;).",
		})
	}
	return out, nil
}

// ruleUnqualified reuses schema lint's live-database rules (one definition
// for both commands): PGV101 and PGV105 are names that do not resolve in
// code the apply worker, a restore or PG 17 maintenance runs; PGV106 and
// PGV108 are such code that could not be checked.
func ruleUnqualified(ctx context.Context, e *env) ([]Finding, error) {
	var out []Finding
	for _, s := range e.sides() {
		res, err := e.lint(ctx, s)
		if err != nil {
			return nil, err
		}
		broken := groupLint(res, func(f lint.Finding) bool {
			return f.Code == lint.CodeReachable || (f.Code == lint.CodePinnedMiss && len(f.Chain) > 0)
		})
		if len(broken.objects) > 0 {
			out = append(out, Finding{Severity: Critical, Side: s.side, Objects: broken.objects,
				Detail: "The apply and table-sync workers run with search_path = '' (pg_catalog only); so do " +
					"pg_dump scripts, and PG 17 maintenance runs with pg_catalog, pg_temp. These functions run " +
					"there (from a constraint, default, generated column, index, ALWAYS/REPLICA trigger or " +
					"materialized view) and name objects without a schema: they fail and stop replication.\n" +
					strings.Join(broken.lines, "\n"),
				Remedy: broken.remedy("Schema-qualify the names in the bodies, or pin the search path: " +
					"ALTER FUNCTION <function> SET search_path = public, pg_temp;"),
			})
		}
		unchecked := groupLint(res, func(f lint.Finding) bool {
			// PGV108 is also reported for bodies nothing reaches: only
			// reached ones (with a chain) concern the apply worker.
			return f.Code == lint.CodeDynamic || f.Code == lint.CodeNotAnalyzed && len(f.Chain) > 0
		})
		if len(unchecked.objects) > 0 {
			out = append(out, Finding{Severity: Warning, Side: s.side, Objects: unchecked.objects,
				Title: "functions run by the apply worker that could not be checked",
				Detail: "These functions run in the apply worker (or a restore) without a pinned search_path, " +
					"but their names could not be checked: dynamic SQL, or a body that does not parse or is " +
					"not SQL or PL/pgSQL.\n" + strings.Join(unchecked.lines, "\n"),
				Remedy: "Pin their search path: ALTER FUNCTION <function> SET search_path = public, pg_temp;",
			})
		}
	}
	return out, nil
}

// ruleCrossTable: a CHECK, index or generated column that reads another
// table can fail during the initial table sync, which copies tables in no
// particular order (schema lint PGV107).
func ruleCrossTable(ctx context.Context, e *env) ([]Finding, error) {
	var out []Finding
	for _, s := range e.sides() {
		res, err := e.lint(ctx, s)
		if err != nil {
			return nil, err
		}
		g := groupLint(res, func(f lint.Finding) bool { return f.Code == lint.CodeCrossTable })
		if len(g.objects) == 0 {
			continue
		}
		out = append(out, Finding{Severity: Warning, Side: s.side, Objects: g.objects,
			Detail: "These constraints, indexes or generated columns call functions that read other tables. " +
				"The initial table sync (and pg_restore) loads tables in no order that respects this, so they " +
				"can fail although the data is consistent.\n" + strings.Join(g.lines, "\n"),
			Remedy: "Enforce the rule with a foreign key or a trigger (ordinary triggers do not fire in the apply worker).",
		})
	}
	return out, nil
}

// lint runs schema lint on a side once.
func (e *env) lint(ctx context.Context, s *server) (*lint.Result, error) {
	if r, ok := e.lints[s.side]; ok {
		return r, nil
	}
	r, err := lint.LintDatabase(ctx, s.conn, lint.Options{})
	if err != nil {
		return nil, &sideError{s.side, fmt.Errorf("schema lint: %w", err)}
	}
	e.lints[s.side] = r
	return r, nil
}

// lintGroup is lint findings grouped by object, in order.
type lintGroup struct {
	objects, lines, fixes []string
}

func (g lintGroup) remedy(fallback string) string {
	if len(g.fixes) == 0 {
		return fallback
	}
	return strings.Join(g.fixes, " ")
}

func groupLint(res *lint.Result, keep func(lint.Finding) bool) lintGroup {
	var g lintGroup
	refs := map[string][]string{}
	via := map[string]string{}
	for _, f := range res.Findings {
		if !keep(f) {
			continue
		}
		obj := strings.TrimPrefix(f.Object, "function ")
		if _, ok := refs[obj]; !ok {
			g.objects = append(g.objects, obj)
			refs[obj] = nil
			via[obj] = strings.Join(f.Chain, " → ")
		}
		if f.Reference != "" {
			refs[obj] = appendUnique(refs[obj], f.Reference)
		}
	}
	for _, obj := range g.objects {
		line := obj
		switch {
		case strings.HasPrefix(via[obj], obj):
			line = via[obj] // the chain starts at the object itself
		case via[obj] != "":
			line += ": " + via[obj]
		}
		if len(refs[obj]) > 0 {
			line += "; unqualified: " + strings.Join(refs[obj], ", ")
		}
		g.lines = append(g.lines, line)
	}
	for _, fx := range res.Fixes {
		if _, ok := refs[strings.TrimPrefix(fx.Object, "function ")]; ok {
			g.fixes = append(g.fixes, strings.TrimSpace(fx.SQL))
		}
	}
	return g
}

type trigger struct {
	Object     string `db:"object"`
	RootSchema string `db:"root_schema"`
	RootName   string `db:"root_name"`
	Trigger    string `db:"trigger"`
	Enabled    string `db:"enabled"`
	Function   string `db:"function"`
}

func ruleTriggers(ctx context.Context, e *env) ([]Finding, error) {
	var out []Finding
	for _, s := range e.sides() {
		ts, err := collect[trigger](ctx, s, "triggers.sql")
		if err != nil {
			return nil, err
		}
		var objs, lines []string
		for _, t := range ts {
			if !e.opts.Selection.Match(t.RootSchema, t.RootName) {
				continue
			}
			mode := "ALWAYS"
			if t.Enabled == "R" {
				mode = "REPLICA"
			}
			objs = append(objs, t.Object+" "+t.Trigger)
			lines = append(lines, fmt.Sprintf("trigger %s on %s (ENABLE %s) runs %s", t.Trigger, t.Object, mode, t.Function))
		}
		if len(objs) == 0 {
			continue
		}
		out = append(out, Finding{Severity: Warning, Side: s.side, Objects: objs,
			Detail: "These triggers fire in the apply worker for every replicated row, so their side effects " +
				"(audit rows, queues, counters) happen a second time on the subscriber.\n" + strings.Join(lines, "\n"),
			Remedy: "Unless a trigger must run for replicated rows, make it ordinary on the target: " +
				"ALTER TABLE <table> ENABLE TRIGGER <trigger>;",
		})
	}
	return out, nil
}

// ---- target: extensions ----------------------------------------------------

type available struct {
	Name    string `db:"name"`
	Version string `db:"version"`
}

func ruleExtensions(ctx context.Context, e *env) ([]Finding, error) {
	srcExt, err := collect[extension](ctx, e.src, "extensions.sql")
	if err != nil {
		return nil, err
	}
	dstExt, err := collect[extension](ctx, e.dst, "extensions.sql")
	if err != nil {
		return nil, err
	}
	avail, err := collect[available](ctx, e.dst, "available_extensions.sql")
	if err != nil {
		return nil, err
	}
	installed := map[string]string{}
	for _, x := range dstExt {
		installed[x.Name] = x.Version
	}
	versions := map[string]map[string]bool{}
	for _, a := range avail {
		if versions[a.Name] == nil {
			versions[a.Name] = map[string]bool{}
		}
		versions[a.Name][a.Version] = true
	}
	var missing, missingLines, differ, differLines, notCreated []string
	for _, x := range srcExt {
		id := x.Name + " " + x.Version
		switch v, ok := installed[x.Name]; {
		case ok && v == x.Version:
		case ok:
			differ = append(differ, id)
			differLines = append(differLines, fmt.Sprintf("%s: source %s, target %s", x.Name, x.Version, v))
		case versions[x.Name] == nil:
			missing = append(missing, id)
			missingLines = append(missingLines, fmt.Sprintf("%s %s: not available on the target server", x.Name, x.Version))
		case !versions[x.Name][x.Version]:
			differ = append(differ, id)
			differLines = append(differLines, fmt.Sprintf("%s: source %s is not available on the target (available: %s)",
				x.Name, x.Version, strings.Join(sortedKeys(versions[x.Name]), ", ")))
		default:
			notCreated = append(notCreated, id)
		}
	}
	var out []Finding
	if len(missing) > 0 {
		out = append(out, Finding{Severity: Critical, Side: SideTarget, Objects: missing,
			Title: "extensions missing on the target",
			Detail: "The target server cannot install these extensions: restoring the schema fails for every " +
				"object that uses them.\n" + strings.Join(missingLines, "\n"),
			Remedy: "Install the extension's package for the target major on the target host, then CREATE EXTENSION.",
		})
	}
	if len(differ) > 0 {
		out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: differ,
			Title: "extensions at other versions on the target",
			Detail: "The target has or can only install other versions; functions, types and operators may " +
				"behave differently.\n" + strings.Join(differLines, "\n"),
			Remedy: "Check the extensions' release notes; ALTER EXTENSION <name> UPDATE TO '<version>'; where " +
				"both sides should match.",
		})
	}
	if len(notCreated) > 0 {
		out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: notCreated,
			Title:  "extensions not created in the target database",
			Detail: "The target server provides these extensions, but they are not created in the target database.",
			Remedy: "Restore the schema (pg_dump --schema-only) or CREATE EXTENSION <name> VERSION '<version>'; on the target.",
		})
	}
	srcLibs, dstLibs := libraries(e.src.settings["shared_preload_libraries"]), libraries(e.dst.settings["shared_preload_libraries"])
	var libs []string
	for _, l := range sortedKeys(srcLibs) {
		if !dstLibs[l] {
			libs = append(libs, l)
		}
	}
	if len(libs) > 0 {
		out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: libs,
			Title:  "shared_preload_libraries missing on the target",
			Detail: "The source preloads libraries the target does not; extensions that need them fail or lose features.",
			Remedy: "ALTER SYSTEM SET shared_preload_libraries = '...'; on the target with these added, then restart it.",
		})
	}
	return out, nil
}

func libraries(s string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(s, ",") {
		l = strings.Trim(strings.TrimSpace(l), `"`)
		if l != "" {
			out[l] = true
		}
	}
	return out
}

// ---- target: subscription health -------------------------------------------

type subscription struct {
	OID           int64    `db:"oid"`
	Name          string   `db:"subname"`
	Ident         string   `db:"ident"`
	Enabled       bool     `db:"subenabled"`
	Slot          string   `db:"slot"`
	Publications  []string `db:"publications"`
	WorkerRunning bool     `db:"worker_running"`
}

// subscriptions returns the target database's subscriptions (read once).
func (e *env) subscriptions(ctx context.Context) ([]subscription, error) {
	if e.dst == nil {
		return nil, nil
	}
	if !e.subsOK {
		e.subsOK = true
		q := "subscriptions.sql"
		var canReadOID bool
		if err := e.dst.conn.QueryRow(ctx, "SELECT has_column_privilege('pg_catalog.pg_subscription', 'oid', 'SELECT')").Scan(&canReadOID); err != nil {
			e.subsErr = &sideError{SideTarget, fmt.Errorf("reading pg_subscription privileges: %w", err)}
			return nil, e.subsErr
		}
		if !canReadOID {
			q = "subscriptions_public.sql"
		}
		e.subs, e.subsErr = collect[subscription](ctx, e.dst, q)
	}
	return e.subs, e.subsErr
}

// owns reports whether a pg_subscription_rel row (srsubid) belongs to sub.
// Without the oid (PG 13, no superuser) the rows of the database's only
// subscription are still known; with several they cannot be told apart.
func owns(sub subscription, subs []subscription, srsubid int64) bool {
	if sub.OID != 0 {
		return srsubid == sub.OID
	}
	return len(subs) == 1
}

// noSubscription is the info finding when the target has none.
func noSubscription(code string) []Finding {
	return []Finding{{Code: code, Severity: Info, Side: SideTarget, Objects: []string{},
		Title:  "no subscription in the target database",
		Detail: "Subscription health was not checked: the target database has no subscription yet.",
		Remedy: "Run preflight again with --target once the subscription exists.",
	}}
}

type subStats struct {
	SubID      int64  `db:"subid"`
	ApplyErrs  int64  `db:"apply_error_count"`
	SyncErrs   int64  `db:"sync_error_count"`
	StatsReset string `db:"stats_reset"`
}

func ruleSubscriptionState(ctx context.Context, e *env) ([]Finding, error) {
	subs, err := e.subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return noSubscription("PF021"), nil
	}
	stats := map[int64]subStats{}
	if e.dst.hasSubscriptionStats() {
		ss, err := collect[subStats](ctx, e.dst, "subscription_stats.sql")
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			stats[s.SubID] = s
		}
	}
	var out []Finding
	for _, s := range subs {
		switch {
		case !s.Enabled:
			out = append(out, Finding{Severity: Critical, Side: SideTarget, Objects: []string{s.Name},
				Title:  "subscription disabled",
				Detail: fmt.Sprintf("Subscription %s is disabled: nothing is applied and its slot keeps WAL on the source.", s.Name),
				Remedy: fmt.Sprintf("ALTER SUBSCRIPTION %s ENABLE; after fixing what disabled it (see the target log).", s.Ident),
			})
		case !s.WorkerRunning:
			out = append(out, Finding{Severity: Critical, Side: SideTarget, Objects: []string{s.Name},
				Title: "subscription apply worker not running",
				Detail: fmt.Sprintf("Subscription %s is enabled but no apply worker runs for it: it is failing and "+
					"restarting, or the target lacks worker slots (PF003).", s.Name),
				Remedy: "Read the target server log for the apply worker's error and fix its cause.",
			})
		}
		if st, ok := stats[s.OID]; ok && st.ApplyErrs+st.SyncErrs > 0 {
			since := ""
			if st.StatsReset != "" {
				since = " since " + st.StatsReset
			}
			out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: []string{s.Name},
				Title: "subscription has errors",
				Detail: fmt.Sprintf("Subscription %s: %d apply errors and %d initial-sync errors%s "+
					"(pg_stat_subscription_stats).", s.Name, st.ApplyErrs, st.SyncErrs, since),
				Remedy: fmt.Sprintf("Read the target server log; once fixed, reset the counters: "+
					"SELECT pg_stat_reset_subscription_stats(%d);", s.OID),
			})
		}
	}
	return out, nil
}

type subTable struct {
	SubID  int64  `db:"srsubid"`
	Object string `db:"object"`
	Schema string `db:"schema"`
	Name   string `db:"name"`
	State  string `db:"state"`
}

type pubTable struct {
	Pub    string `db:"pubname"`
	Schema string `db:"schemaname"`
	Name   string `db:"tablename"`
	Object string `db:"object"`
}

// tableSyncSlot is the name of a table-sync slot: pg_<sub>_sync_<rel>_<system>.
var tableSyncSlot = regexp.MustCompile(`^pg_[0-9]+_sync_[0-9]+_[0-9]+$`)

// errNoSubscriptionOID: several subscriptions and no right to read their oids.
var errNoSubscriptionOID = &pgconn.PgError{Code: "42501",
	Message: "cannot tell the tables of several subscriptions apart without reading pg_subscription.oid (superuser on PG 13)"}

var syncStates = map[string]string{"i": "initializing", "d": "copying data", "f": "copy finished",
	"s": "synchronized", "r": "ready"}

func ruleSubscriptionTables(ctx context.Context, e *env) ([]Finding, error) {
	subs, err := e.subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, nil // PF021 says so
	}
	tabs, err := collect[subTable](ctx, e.dst, "subscription_tables.sql")
	if err != nil {
		return nil, err
	}
	pubTabs, err := collect[pubTable](ctx, e.src, "publication_tables.sql")
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, s := range subs {
		if s.OID == 0 && len(subs) > 1 {
			return nil, &sideError{SideTarget, errNoSubscriptionOID}
		}
		subscribed := map[string]bool{}
		var notReady, lines []string
		for _, t := range tabs {
			if !owns(s, subs, t.SubID) || !e.opts.Selection.Match(t.Schema, t.Name) {
				continue
			}
			subscribed[t.Schema+"."+t.Name] = true
			if t.State != "r" {
				notReady = append(notReady, t.Object)
				lines = append(lines, fmt.Sprintf("%s: %s (%s)", t.Object, t.State, syncStates[t.State]))
			}
		}
		if len(notReady) > 0 {
			out = append(out, Finding{Severity: Critical, Side: SideTarget, Objects: notReady,
				Title: "subscription tables not ready",
				Detail: fmt.Sprintf("Subscription %s has tables that are not in state r (ready): their initial "+
					"copy has not finished, so the target does not hold their data yet.\n%s", s.Name, strings.Join(lines, "\n")),
				Remedy: "Wait for the initial sync to finish (SELECT srrelid::regclass, srsubstate FROM " +
					"pg_subscription_rel;); if a table stays in one state, read the target log.",
			})
		}
		pubs := map[string]bool{}
		for _, p := range s.Publications {
			pubs[p] = true
		}
		var unsubscribed []string
		seen := map[string]bool{}
		for _, p := range pubTabs {
			key := p.Schema + "." + p.Name
			if !pubs[p.Pub] || seen[key] || !e.opts.Selection.Match(p.Schema, p.Name) {
				continue
			}
			seen[key] = true
			if !subscribed[key] {
				unsubscribed = append(unsubscribed, p.Object)
			}
		}
		if len(unsubscribed) > 0 {
			out = append(out, Finding{Severity: Critical, Side: SideTarget, Objects: unsubscribed,
				Title: "published tables missing from the subscription",
				Detail: fmt.Sprintf("The source publishes these tables (publications %s) but subscription %s does "+
					"not know them (created after the subscription, or missing on the target): their rows are "+
					"not replicated.", strings.Join(s.Publications, ", "), s.Name),
				Remedy: fmt.Sprintf("Create the tables on the target, then ALTER SUBSCRIPTION %s REFRESH PUBLICATION;", s.Ident),
			})
		}
	}
	return out, nil
}

func ruleSlotLag(ctx context.Context, e *env) ([]Finding, error) {
	subs, err := e.subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, nil // PF021 says so
	}
	slots, err := e.sourceSlots(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, s := range subs {
		if s.Slot == "" {
			continue
		}
		sl, ok := slots[s.Slot]
		switch {
		case !ok:
			out = append(out, Finding{Severity: Blocker, Side: SideSource, Objects: []string{s.Slot},
				Title: "subscription slot missing on the source",
				Detail: fmt.Sprintf("Subscription %s streams from slot %s, which does not exist on the source: "+
					"nothing can be replicated.", s.Name, s.Slot),
				Remedy: "Recreate the subscription (its data must then be copied again), or recreate the slot " +
					"only if you can prove no change was missed.",
			})
			continue
		case sl.InvalidationReason != "" || sl.WalStatus == "lost":
			continue // PF024
		}
		if sl.WalStatus == "unreserved" {
			out = append(out, Finding{Severity: Critical, Side: SideSource, Objects: []string{s.Slot},
				Title: "subscription slot about to lose WAL",
				Detail: fmt.Sprintf("Slot %s has wal_status unreserved: the WAL it still needs exceeds "+
					"max_slot_wal_keep_size and is removed at the next checkpoint (safe_wal_size %s).",
					s.Slot, bytesOf(sl.SafeWalSize)),
				Remedy: "Let the subscriber catch up now, or raise max_slot_wal_keep_size on the source.",
			})
		}
		if !sl.Active && s.Enabled {
			out = append(out, Finding{Severity: Critical, Side: SideSource, Objects: []string{s.Slot},
				Title: "subscription slot has no consumer",
				Detail: fmt.Sprintf("Slot %s of subscription %s is not active: the subscriber is not streaming "+
					"and the source retains %s of WAL for it.", s.Slot, s.Name, bytesOf(sl.RetainedBytes)),
				Remedy: "Read the target log for the apply worker's connection errors.",
			})
		}
		if sl.LagBytes != nil && *sl.LagBytes > e.opts.MaxSlotLag {
			out = append(out, Finding{Severity: Warning, Side: SideSource, Objects: []string{s.Slot},
				Title: "subscription lags behind",
				Detail: fmt.Sprintf("Slot %s has confirmed %s less than the source has written (limit %s); "+
					"it retains %s of WAL, wal_status %s.", s.Slot, bytesOf(sl.LagBytes),
					bytesOf(&e.opts.MaxSlotLag), bytesOf(sl.RetainedBytes), orDash(sl.WalStatus)),
				Remedy: "Wait for the subscriber to catch up before switching; if it does not, look at apply " +
					"errors and at long transactions on the source.",
			})
		}
	}
	return out, nil
}

func ruleSlotInvalidated(ctx context.Context, e *env) ([]Finding, error) {
	subs, err := e.subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, nil // PF021 says so
	}
	slots, err := e.sourceSlots(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, s := range subs {
		sl, ok := slots[s.Slot]
		if !ok || (sl.InvalidationReason == "" && sl.WalStatus != "lost") {
			continue
		}
		why := "wal_status lost: the WAL it needed was removed"
		if sl.InvalidationReason != "" {
			why = "invalidation_reason " + sl.InvalidationReason
		} else if e.src.hasInvalidationReason() {
			why += " (no invalidation_reason recorded)"
		}
		out = append(out, Finding{Severity: Blocker, Side: SideSource, Objects: []string{s.Slot},
			Detail: fmt.Sprintf("Slot %s of subscription %s is invalidated (%s): it can never stream again and "+
				"changes since then are missing on the target.", s.Slot, s.Name, why),
			Remedy: "Drop and recreate the subscription so the data is copied again, and set " +
				"max_slot_wal_keep_size high enough (or -1) for the catch-up.",
		})
	}
	return out, nil
}

// ---- helpers ---------------------------------------------------------------

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func bytesOf(n *int64) string {
	if n == nil {
		return "-"
	}
	v := float64(*n)
	for _, u := range []string{"B", "kB", "MB", "GB"} {
		if v < 1024 || u == "GB" {
			if u == "B" {
				return fmt.Sprintf("%d B", *n)
			}
			return fmt.Sprintf("%.1f %s", v, u)
		}
		v /= 1024
	}
	return ""
}

func age(sec float64) string {
	switch {
	case sec < 120:
		return fmt.Sprintf("%.0fs", sec)
	case sec < 7200:
		return fmt.Sprintf("%.0fm", sec/60)
	default:
		return fmt.Sprintf("%.1fh", sec/3600)
	}
}
