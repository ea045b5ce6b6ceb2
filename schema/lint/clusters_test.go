package lint

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

var updateBuiltins = flag.Bool("update-builtins", false, "regenerate builtins/pgNN.txt from real servers")

// Clusters are started on first use, once per package run, and stopped in
// TestMain; each test works in a database of its own.
var (
	clusterMu sync.Mutex
	clusters  = map[int]*pgcluster.Cluster{}
	dbSeq     atomic.Int64
)

// Settings that make a failing table sync retry quickly, so the acceptance
// test sees the failure and the recovery within seconds.
var clusterSettings = map[string]string{"wal_retrieve_retry_interval": "'200ms'"}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	clusterMu.Lock()
	for _, c := range clusters {
		_ = c.Stop()
	}
	clusterMu.Unlock()
	os.Exit(code)
}

// cluster returns the shared server of a major, starting it if needed.
func cluster(t testing.TB, major int) *pgcluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL servers")
	}
	if !pgcluster.Available(major) {
		t.Fatalf("postgres %d binaries missing: run make postgres", major)
	}
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if c, ok := clusters[major]; ok {
		return c
	}
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{Major: major, Name: "lint", Settings: clusterSettings})
	if err != nil {
		t.Fatal(err)
	}
	clusters[major] = c
	return c
}

// freshDB creates a new database on c and returns its name.
func freshDB(t testing.TB, c *pgcluster.Cluster) string {
	t.Helper()
	name := fmt.Sprintf("lint_%d", dbSeq.Add(1))
	if err := c.CreateDB(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

// SharedCluster and FreshDB give the external test package (which can use
// package report) the same clusters.
func SharedCluster(t testing.TB, major int) *pgcluster.Cluster { return cluster(t, major) }

// FreshDB creates a new database on c.
func FreshDB(t testing.TB, c *pgcluster.Cluster) string { return freshDB(t, c) }
