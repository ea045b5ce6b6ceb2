package preflight

// Target: the health of an existing subscription: PF021 (disabled or
// failing), PF022 (tables not ready), PF023 (slot lag and WAL retention),
// PF024 (slot invalidated).

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

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
