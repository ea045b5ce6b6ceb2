package preflight

// Collations: PF016 (collation version drift).

import (
	"context"
	"fmt"
	"strings"
)

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
