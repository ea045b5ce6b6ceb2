package preflight

// Sessions and slots on the source in the way: PF013 (existing replication
// slots), PF014 (long-running transactions), PF015 (prepared transactions).

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

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

// tableSyncSlot is the name of a table-sync slot: pg_<sub>_sync_<rel>_<system>.
var tableSyncSlot = regexp.MustCompile(`^pg_[0-9]+_sync_[0-9]+_[0-9]+$`)
