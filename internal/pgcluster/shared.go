package pgcluster

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// Shared lazily starts one cluster per major for a test binary; call StopAll
// from TestMain. Tests create their own databases (NewDB) to stay independent.
type Shared struct {
	mu       sync.Mutex
	clusters map[int]*Cluster
	errs     map[int]error
	seq      atomic.Int64
}

// Get returns the running cluster of a major, starting it on first use.
func (s *Shared) Get(t testing.TB, major int) *Cluster {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clusters == nil {
		s.clusters, s.errs = map[int]*Cluster{}, map[int]error{}
	}
	if c, ok := s.clusters[major]; ok {
		return c
	}
	if err := s.errs[major]; err != nil {
		t.Fatalf("postgres %d: %v", major, err)
	}
	c, err := Start(context.Background(), Options{Major: major, Name: "test"})
	if err != nil {
		s.errs[major] = err
		t.Fatalf("postgres %d: %v", major, err)
	}
	s.clusters[major] = c
	return c
}

// NewDB creates a fresh database with a unique name on c.
func (s *Shared) NewDB(t testing.TB, c *Cluster, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s_%d", prefix, s.seq.Add(1))
	if err := c.CreateDB(context.Background(), name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	return name
}

// StopAll stops every cluster started.
func (s *Shared) StopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clusters {
		_ = c.Stop()
	}
	s.clusters = nil
}
