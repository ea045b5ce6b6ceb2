package diff

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

// The integration tests share one PG 13, 16 and 17 cluster per test binary,
// each holding template databases with the test schema:
//
//	PG 13 "base":   testdata/schema.sql
//	PG 16 "base":   PG 13's base through pg_dump --schema-only and psql
//	PG 16 "base15": PG 16's base plus testdata/schema_pg15.sql
//	PG 17 "base":   testdata/schema.sql (pg_dump 15 cannot dump 17, so the
//	                same DDL is run instead)
//	PG 17 "base15": PG 17's base plus testdata/schema_pg15.sql
//
// Tests clone a template to change it (CREATE DATABASE ... TEMPLATE).

type fixture struct {
	pg13, pg16, pg17 *pgcluster.Cluster
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
	dbSeq   atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		for _, c := range []*pgcluster.Cluster{fix.pg13, fix.pg16, fix.pg17} {
			if c != nil {
				_ = c.Stop()
			}
		}
	}
	os.Exit(code)
}

// clusters returns the shared fixture, building it on first use.
func clusters(t *testing.T) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL 13, 16 and 17 (run without -short)")
	}
	fixOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		fix, fixErr = buildFixture(ctx)
	})
	if fixErr != nil {
		t.Fatalf("test clusters: %v", fixErr)
	}
	return fix
}

func buildFixture(ctx context.Context) (*fixture, error) {
	f := &fixture{}
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range []struct {
		major int
		dst   **pgcluster.Cluster
	}{{13, &f.pg13}, {16, &f.pg16}, {17, &f.pg17}} {
		g.Go(func() error {
			c, err := pgcluster.Start(gctx, pgcluster.Options{Major: p.major, Name: "schemadiff"})
			if err != nil {
				return err
			}
			*p.dst = c
			return c.Exec(gctx, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader;")
		})
	}
	if err := g.Wait(); err != nil {
		return f, err
	}
	schema, err := os.ReadFile(filepath.Join("testdata", "schema.sql"))
	if err != nil {
		return f, err
	}
	pg15, err := os.ReadFile(filepath.Join("testdata", "schema_pg15.sql"))
	if err != nil {
		return f, err
	}
	for _, c := range []*pgcluster.Cluster{f.pg13, f.pg17} {
		if err := c.CreateDB(ctx, "base"); err != nil {
			return f, err
		}
		if err := c.Exec(ctx, "base", string(schema)); err != nil {
			return f, fmt.Errorf("schema.sql on PG %d: %w", c.Major, err)
		}
	}
	if err := f.pg16.CreateDB(ctx, "base"); err != nil {
		return f, err
	}
	if err := dumpRestore(ctx, f.pg13, f.pg16, "base"); err != nil {
		return f, err
	}
	for _, c := range []*pgcluster.Cluster{f.pg16, f.pg17} {
		if err := c.Exec(ctx, "postgres", "CREATE DATABASE base15 TEMPLATE base"); err != nil {
			return f, err
		}
		if err := c.Exec(ctx, "base15", string(pg15)); err != nil {
			return f, fmt.Errorf("schema_pg15.sql on PG %d: %w", c.Major, err)
		}
	}
	return f, nil
}

// dumpRestore replays db's schema from src to dst with pg_dump
// --schema-only and psql, as an upgrade by logical replication does.
func dumpRestore(ctx context.Context, src, dst *pgcluster.Cluster, db string) error {
	dump := exec.CommandContext(ctx, "pg_dump", "--schema-only", "--dbname", src.DSN(db))
	var out, errb bytes.Buffer
	dump.Stdout, dump.Stderr = &out, &errb
	if err := dump.Run(); err != nil {
		return fmt.Errorf("pg_dump: %w: %s", err, errb.String())
	}
	restore := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", dst.DSN(db))
	restore.Stdin = &out
	if b, err := restore.CombinedOutput(); err != nil {
		return fmt.Errorf("psql restore: %w: %s", err, b)
	}
	return nil
}

// clone creates a fresh database from a template and drops it after the test.
func clone(t *testing.T, c *pgcluster.Cluster, template string) string {
	t.Helper()
	name := fmt.Sprintf("t%d", dbSeq.Add(1))
	ctx := context.Background()
	if err := c.Exec(ctx, "postgres", fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("clone %s on PG %d: %v", template, c.Major, err)
	}
	t.Cleanup(func() { _ = c.Exec(ctx, "postgres", "DROP DATABASE IF EXISTS "+name) })
	return name
}

// compare runs the real read path: guarded read-only sessions, both
// catalogs read concurrently.
func compare(t *testing.T, src *pgcluster.Cluster, srcDB string, dst *pgcluster.Cluster, dstDB string, opts Options) *Result {
	t.Helper()
	ctx := context.Background()
	s, err := dbconn.Connect(ctx, src.DSN(srcDB), dbconn.Options{Role: "source", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	d, err := dbconn.Connect(ctx, dst.DSN(dstDB), dbconn.Options{Role: "target", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	res, err := Run(ctx, s, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Notes {
		t.Errorf("unexpected note: %s", n)
	}
	return res
}
