package preflight

// Helpers shared by rules in several files: the sides to check, the
// catalog reads (relations, extensions, slots, subscriptions) that rules in
// more than one file use, and formatting.

import (
	"context"
	"fmt"
	"sort"
)

// sides returns the source, and the target when given: rules about what the
// apply worker will run are checked where it runs too.
func (e *env) sides() []*server {
	if e.dst != nil {
		return []*server{e.src, e.dst}
	}
	return []*server{e.src}
}

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

type extension struct {
	Name    string `db:"extname"`
	Version string `db:"extversion"`
}

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
