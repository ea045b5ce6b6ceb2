package preflight

// Tables the publication cannot replicate correctly: PF004 (replica
// identity), PF005 (FULL without equality), PF006 (no primary key), PF011
// (partitioned tables), PF019 (generated columns).

import (
	"context"
	"fmt"
	"strings"
)

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

type publication struct {
	Name    string `db:"pubname"`
	AllTabs bool   `db:"puballtables"`
	ViaRoot bool   `db:"pubviaroot"`
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
