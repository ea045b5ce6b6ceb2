package preflight

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

// Kinds of cluster per major: "main" is a normal logical-replication
// server (with prepared transactions allowed); "weak" breaks the settings
// rules on purpose: wal_level replica, one slot, no WAL senders or workers,
// and a tiny max_slot_wal_keep_size so a slot can be invalidated.
var profiles = map[string]map[string]string{
	"main": {"max_prepared_transactions": "4"},
	"weak": {
		"wal_level":                       "replica",
		"max_replication_slots":           "1",
		"max_wal_senders":                 "0",
		"max_logical_replication_workers": "0",
		"max_slot_wal_keep_size":          "'1MB'",
	},
	// "workers" has enough workers for one subscription (4 >= 1 + 2 sync),
	// not for one plus three others.
	"workers": {"max_logical_replication_workers": "4", "max_sync_workers_per_subscription": "2"},
}

type clusterSet struct {
	mu       sync.Mutex
	clusters map[string]*pgcluster.Cluster
	errs     map[string]error
	seq      atomic.Int64
}

var clusters = &clusterSet{clusters: map[string]*pgcluster.Cluster{}, errs: map[string]error{}}

func TestMain(m *testing.M) {
	code := m.Run()
	clusters.mu.Lock()
	for _, c := range clusters.clusters {
		_ = c.Stop()
	}
	clusters.mu.Unlock()
	os.Exit(code)
}

func needPG(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Postgres (run without -short)")
	}
}

// get starts (once) the cluster of a profile and major.
func (s *clusterSet) get(t *testing.T, profile string, major int) *pgcluster.Cluster {
	t.Helper()
	key := fmt.Sprintf("%s%d", profile, major)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clusters[key]; ok {
		return c
	}
	if err := s.errs[key]; err != nil {
		t.Fatalf("postgres %s: %v", key, err)
	}
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{Major: major, Name: "pf" + profile, Settings: profiles[profile]})
	if err != nil {
		s.errs[key] = err
		t.Fatalf("postgres %s: %v", key, err)
	}
	s.clusters[key] = c
	return c
}

// newDB creates a fresh database and runs setup SQL in it.
func (s *clusterSet) newDB(t *testing.T, c *pgcluster.Cluster, setup string) string {
	t.Helper()
	name := fmt.Sprintf("pf_%d", s.seq.Add(1))
	if err := c.CreateDB(context.Background(), name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	if setup != "" {
		exec(t, c, name, setup)
	}
	return name
}

func exec(t *testing.T, c *pgcluster.Cluster, db, sql string) {
	t.Helper()
	if err := c.Exec(context.Background(), db, sql); err != nil {
		t.Fatalf("PG%d %s: %v\n%s", c.Major, db, err, sql)
	}
}

// connect opens a connection the way the command does: guarded, read-only.
func connect(t *testing.T, c *pgcluster.Cluster, db, role string) *pgx.Conn {
	t.Helper()
	conn, err := dbconn.Connect(context.Background(), c.DSN(db), dbconn.Options{Role: role, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// run runs preflight on src (and dst when given).
func run(t *testing.T, src, dst *pgx.Conn, opts Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	return res
}

// byCode groups findings by code.
func byCode(r *Result) map[string][]Finding {
	out := map[string][]Finding{}
	for _, f := range r.Findings {
		out[f.Code] = append(out[f.Code], f)
	}
	return out
}

// find returns the first finding of a code whose title contains sub
// (any title when sub is empty) on a side ("" for any).
func find(r *Result, code, side, sub string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Code == code && (side == "" || f.Side == side) && strings.Contains(f.Title, sub) {
			return f, true
		}
	}
	return Finding{}, false
}

func dump(r *Result) string {
	var s string
	for _, f := range r.Findings {
		s += fmt.Sprintf("  %s %s %s %q %v\n", f.Severity, f.Code, f.Side, f.Title, f.Objects)
	}
	return s
}

func hasObject(f Finding, obj string) bool {
	for _, o := range f.Objects {
		if o == obj {
			return true
		}
	}
	return false
}
