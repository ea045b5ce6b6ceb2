package preflight

// Server settings and capacity: PF001 (wal_level), PF002 (source slots,
// senders and origins), PF003 (target workers).

import (
	"context"
	"fmt"
	"strings"
)

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
