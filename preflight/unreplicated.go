package preflight

// Objects logical replication does not carry at all: PF007 (unlogged
// tables), PF008 (large objects), PF009 (materialized views), PF010 (foreign
// tables), PF020 (sequences).

import (
	"context"
	"fmt"
	"strings"
)

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
