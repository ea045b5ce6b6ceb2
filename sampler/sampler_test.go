package sampler

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

var clusters pgcluster.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	clusters.StopAll()
	os.Exit(code)
}

func needPG(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Postgres (run without -short)")
	}
}

func exec(t *testing.T, c *pgcluster.Cluster, db, sql string) {
	t.Helper()
	if err := c.Exec(context.Background(), db, sql); err != nil {
		t.Fatalf("PG%d %s: %v\n%s", c.Major, db, err, sql)
	}
}

// pairDB creates the same database with schema on both clusters.
func pairDB(t *testing.T, src, dst *pgcluster.Cluster, schema string) string {
	t.Helper()
	db := clusters.NewDB(t, src, "sm")
	if err := dst.CreateDB(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	exec(t, src, db, schema)
	exec(t, dst, db, schema)
	return db
}

// replicated creates db on both sides, loads data on the source and
// subscribes the target to it.
func replicated(t *testing.T, src, dst *pgcluster.Cluster, schema, data string) string {
	t.Helper()
	ctx := context.Background()
	db := pairDB(t, src, dst, schema)
	exec(t, src, db, data)
	sub := "sub_" + db
	if err := pgcluster.Subscribe(ctx, src, dst, db, sub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dst.Exec(ctx, db, "DROP SUBSCRIPTION "+sub) })
	return db
}

func opts(src, dst *pgcluster.Cluster, db string) Options {
	return Options{
		SourceDSN:  src.DSN(db),
		TargetDSN:  dst.DSN(db),
		SourceConn: dbconn.Options{Role: "source", ReadOnly: true},
		TargetConn: dbconn.Options{Role: "target", ReadOnly: true},
		Jobs:       2,
		Rechecks:   3,
	}
}

func run(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("sample: %v", err)
	}
	return res
}

func table(t *testing.T, r *Result, name string) TableResult {
	t.Helper()
	for _, tr := range r.Tables {
		if tr.Table == name {
			return tr
		}
	}
	t.Fatalf("no result for %s in %+v", name, r.Tables)
	return TableResult{}
}

// sampleKeys draws a table's sample on the source as Run does and returns
// the keys, sorted.
func sampleKeys(t *testing.T, c *pgcluster.Cluster, db, tableName string, o Options) []string {
	t.Helper()
	ctx := context.Background()
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	conn, err := dbconn.Connect(ctx, c.DSN(db), o.SourceConn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, jobs, err := planJobs(ctx, conn, conn, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.res.Table != tableName {
			continue
		}
		if err := drawSample(ctx, conn, j, o); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range j.sample {
			keys = append(keys, strings.Join(r.key, ","))
		}
		sort.Strings(keys)
		return keys
	}
	t.Fatalf("table %s not planned", tableName)
	return nil
}

const ordersSchema = `CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2),
	note text, placed timestamptz)`

const ordersData = `INSERT INTO orders SELECT g, 'c' || (g % 97), g * 1.25, CASE WHEN g % 5 = 0 THEN NULL ELSE 'n' || g END,
	'2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20000) g; ANALYZE orders`

// TestSampleFindsDamage replicates 20,000 rows from 13 to 16 (and 16 to
// 17), damages rows on the target, and checks that a sample with a fixed
// seed finds a damaged row it contains, that the same seed draws the same
// sample, and that a full sample finds every damaged row.
func TestSampleFindsDamage(t *testing.T) {
	needPG(t)
	for _, p := range [][2]int{{13, 16}, {16, 17}} {
		t.Run(fmt.Sprintf("PG%d_to_PG%d", p[0], p[1]), func(t *testing.T) {
			src, dst := clusters.Get(t, p[0]), clusters.Get(t, p[1])
			db := replicated(t, src, dst, ordersSchema, ordersData)
			o := opts(src, dst, db)
			o.Rows, o.Seed = 1000, 4242

			clean := run(t, o)
			tr := table(t, clean, "public.orders")
			if tr.Status != StatusOK || tr.Differing != 0 || clean.HasDifferences() || tr.Method != Bernoulli {
				t.Fatalf("clean replica: %+v", tr)
			}
			if tr.Sampled < 700 || tr.Sampled > 1300 {
				t.Fatalf("sampled %d rows, want about 1000", tr.Sampled)
			}
			want := -math.Expm1(math.Log(0.05) / float64(tr.Sampled))
			if tr.UpperBound == nil || math.Abs(*tr.UpperBound-want) > 1e-12 || tr.BoundExact || tr.BoundApproximate {
				t.Fatalf("bound %v, want %g", tr.UpperBound, want)
			}
			if clean.Replication == nil || clean.Replication.Rounds != 0 {
				t.Fatalf("replication not detected, or re-checks without differences: %+v", clean.Replication)
			}

			// The same seed draws the same rows; another seed other rows.
			k1 := sampleKeys(t, src, db, "public.orders", o)
			k2 := sampleKeys(t, src, db, "public.orders", o)
			if strings.Join(k1, ";") != strings.Join(k2, ";") || int64(len(k1)) != tr.Sampled {
				t.Fatalf("seed %d drew different samples (%d and %d rows, run %d)", o.Seed, len(k1), len(k2), tr.Sampled)
			}
			o2 := o
			o2.Seed = 4243
			if k3 := sampleKeys(t, src, db, "public.orders", o2); strings.Join(k1, ";") == strings.Join(k3, ";") {
				t.Fatal("different seeds drew the same sample")
			}

			// Damage on the target: a sampled row changed in one column, a
			// sampled row deleted, and a row outside the sample changed.
			inSample := map[string]bool{}
			for _, k := range k1 {
				inSample[k] = true
			}
			changed, deleted, outside := k1[10], k1[20], ""
			for id := 1; id <= 20000 && outside == ""; id++ {
				if !inSample[fmt.Sprint(id)] {
					outside = fmt.Sprint(id)
				}
			}
			exec(t, dst, db, fmt.Sprintf(`UPDATE orders SET amount = amount + 0.01 WHERE id = %s;
				DELETE FROM orders WHERE id = %s; UPDATE orders SET note = 'x' WHERE id = %s`, changed, deleted, outside))

			res := run(t, o)
			tr = table(t, res, "public.orders")
			if tr.Status != StatusDiffer || tr.Differing != 2 || tr.Missing != 1 || tr.Changed != 1 || !res.HasDifferences() {
				t.Fatalf("damaged replica: %+v", tr)
			}
			got := map[string]Difference{}
			for _, d := range tr.Differences {
				got[strings.Join(d.Key, ",")] = d
			}
			if d := got[changed]; d.Kind != KindChanged || strings.Join(d.Columns, ",") != "amount" {
				t.Errorf("changed row %s: %+v", changed, d)
			}
			if d := got[deleted]; d.Kind != KindMissing {
				t.Errorf("deleted row %s: %+v", deleted, d)
			}
			// The bound now counts two differing rows, and stays correct.
			if want := UpperBound(tr.Sampled, 2, 0.95); *tr.UpperBound != want {
				t.Errorf("bound %g, want %g", *tr.UpperBound, want)
			}

			// A full sample is a census: every damaged row, exact fraction.
			o.Rows, o.Percent = 0, 100
			res = run(t, o)
			tr = table(t, res, "public.orders")
			if tr.Method != All || tr.Sampled != 20000 || tr.Differing != 3 || !tr.BoundExact || *tr.UpperBound != 3.0/20000 {
				t.Fatalf("census: %+v", tr)
			}
		})
	}
}

// TestSampleRechecksLag holds the 16 subscriber back (a lock on the table
// its apply worker must write) while rows change on the source: they differ
// at first and must not be reported once re-checked after catch-up, while
// a row damaged on the target still is.
func TestSampleRechecksLag(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, dst := clusters.Get(t, 13), clusters.Get(t, 16)
	db := replicated(t, src, dst, ordersSchema, ordersData)
	exec(t, dst, db, "UPDATE orders SET customer = 'damaged' WHERE id = 500")
	blocker, err := dst.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close(ctx)
	if _, err := blocker.Exec(ctx, "BEGIN; LOCK TABLE orders IN SHARE MODE"); err != nil {
		t.Fatal(err)
	}
	exec(t, src, db, "UPDATE orders SET note = 'late' WHERE id % 10 = 3")
	// Let the apply worker go once the first comparison has surely run.
	released := make(chan error, 1)
	go func() {
		time.Sleep(3 * time.Second)
		_, err := blocker.Exec(ctx, "COMMIT")
		released <- err
	}()
	o := opts(src, dst, db)
	o.Percent, o.Seed = 100, 1
	t0 := time.Now()
	res := run(t, o)
	took := time.Since(t0)
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if took < 2*time.Second {
		t.Fatal("the run ended before the subscriber was released: it did not wait for catch-up")
	}
	tr := table(t, res, "public.orders")
	if res.Replication == nil || res.Replication.Rounds < 1 || !res.Replication.CaughtUp {
		t.Fatalf("no re-check after catch-up: %+v", res.Replication)
	}
	if tr.Differing != 1 || len(tr.Differences) != 1 || tr.Differences[0].Key[0] != "500" ||
		strings.Join(tr.Differences[0].Columns, ",") != "customer" {
		t.Fatalf("after re-check want only id 500 (customer), got %+v", tr)
	}
}

// TestSampleSkipsAndErrors covers tables that cannot be sampled, partitions
// and SYSTEM sampling.
func TestSampleSkipsAndErrors(t *testing.T) {
	needPG(t)
	src, dst := clusters.Get(t, 13), clusters.Get(t, 16)
	db := pairDB(t, src, dst, `
		CREATE TABLE nokey (v int);
		CREATE TABLE parted (id int, k text, v int, PRIMARY KEY (id, k)) PARTITION BY RANGE (id);
		CREATE TABLE parted_a PARTITION OF parted FOR VALUES FROM (0) TO (5000);
		CREATE TABLE parted_b PARTITION OF parted FOR VALUES FROM (5000) TO (10000);
		CREATE TABLE blocks (id bigint PRIMARY KEY, v text);
		CREATE TABLE empty (id int PRIMARY KEY)`)
	exec(t, src, db, "CREATE TABLE only_source (id int PRIMARY KEY); CREATE TABLE drifted (id int PRIMARY KEY, a int, b int)")
	exec(t, dst, db, "CREATE TABLE drifted (id int PRIMARY KEY, a int)")
	for _, c := range []*pgcluster.Cluster{src, dst} {
		exec(t, c, db, `INSERT INTO parted SELECT g, 'k' || g, g FROM generate_series(0, 9999) g;
			INSERT INTO blocks SELECT g, repeat('x', 50) FROM generate_series(1, 50000) g; ANALYZE`)
	}
	exec(t, dst, db, "UPDATE parted SET v = -1 WHERE id = 7000")
	o := opts(src, dst, db)
	o.Percent, o.Seed = 100, 3
	res := run(t, o)
	for name, want := range map[string]string{
		"public.nokey":       StatusSkipped,
		"public.only_source": StatusError,
		"public.drifted":     StatusError,
		"public.parted":      StatusDiffer,
		"public.blocks":      StatusOK,
		"public.empty":       StatusOK,
	} {
		if got := table(t, res, name); got.Status != want {
			t.Errorf("%s: status %s, want %s (%s)", name, got.Status, want, got.Reason)
		}
	}
	if r := table(t, res, "public.drifted").Reason; !strings.Contains(r, "columns differ: run pgverify schema diff") {
		t.Errorf("drifted reason %q", r)
	}
	if tr := table(t, res, "public.parted"); tr.Sampled != 10000 || tr.Differing != 1 || tr.Differences[0].Key[0] != "7000" {
		t.Errorf("partitioned table: %+v", tr)
	}
	if tr := table(t, res, "public.empty"); tr.UpperBound != nil || tr.Sampled != 0 {
		t.Errorf("empty table: %+v", tr)
	}
	if !res.Incomplete() || res.Summary.Skipped != 1 || res.Summary.Errors != 2 {
		t.Errorf("summary %+v", res.Summary)
	}

	// SYSTEM samples blocks: about the asked share, bound flagged approximate.
	o = opts(src, dst, db)
	o.Selection.Include = []string{"blocks"}
	o.Method, o.Rows, o.Seed = System, 5000, 9
	res = run(t, o)
	tr := table(t, res, "public.blocks")
	if tr.Method != System || !tr.BoundApproximate || !res.Summary.BoundApproximate || tr.Sampled < 2500 || tr.Sampled > 7500 {
		t.Errorf("system sample: %+v", tr)
	}
	// TABLESAMPLE through a partitioned table's root samples every partition.
	o.Selection.Include = []string{"parted"}
	o.Method, o.Rows, o.Seed = Bernoulli, 2000, 9
	res = run(t, o)
	if tr := table(t, res, "public.parted"); tr.Method != Bernoulli || tr.Sampled < 1500 || tr.Sampled > 2500 || tr.EstimatedRows != 10000 {
		t.Errorf("partitioned sample: %+v", tr)
	}
	// A --table pattern matching nothing is an error, not an empty pass.
	o.Selection.Include = []string{"no_such_table"}
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "matches no source table") {
		t.Errorf("unmatched --table: %v", err)
	}
}

// TestSampleStaleStatistics: the planner believes the table has 1,000 rows
// when it has 100,000; the sampler notices, counts, and still draws about
// the rows asked for.
func TestSampleStaleStatistics(t *testing.T) {
	needPG(t)
	src, dst := clusters.Get(t, 13), clusters.Get(t, 16)
	db := pairDB(t, src, dst, "CREATE TABLE t (id int PRIMARY KEY) WITH (autovacuum_enabled = off)")
	for _, c := range []*pgcluster.Cluster{src, dst} {
		exec(t, c, db, `INSERT INTO t SELECT generate_series(1, 1000); ANALYZE t;
			INSERT INTO t SELECT generate_series(1001, 100000)`)
	}
	o := opts(src, dst, db)
	o.Rows, o.Seed = 2000, 5
	tr := table(t, run(t, o), "public.t")
	if tr.Method != Bernoulli || tr.EstimatedRows != 100000 || tr.Sampled < 1600 || tr.Sampled > 2400 ||
		len(tr.Notes) == 0 || tr.Status != StatusOK {
		t.Fatalf("stale statistics: %+v", tr)
	}
}

// TestSamplePerformance: sampling 10,000 rows of a 1M-row table takes a
// couple of seconds at most.
func TestSamplePerformance(t *testing.T) {
	needPG(t)
	src, dst := clusters.Get(t, 13), clusters.Get(t, 16)
	db := pairDB(t, src, dst, "CREATE TABLE big (id int PRIMARY KEY, v text, n numeric, at timestamptz)")
	for _, c := range []*pgcluster.Cluster{src, dst} {
		exec(t, c, db, `INSERT INTO big SELECT g, md5(g::text), g / 7.0, '2024-01-01'::timestamptz + g * interval '1 s'
			FROM generate_series(1, 1000000) g; ANALYZE big`)
	}
	o := opts(src, dst, db)
	o.Rows, o.Seed = 10000, 11
	t0 := time.Now()
	res := run(t, o)
	took := time.Since(t0)
	tr := table(t, res, "public.big")
	t.Logf("sampled %d of 1,000,000 rows in %s (table %d ms)", tr.Sampled, took, tr.ElapsedMS)
	if tr.Status != StatusOK || tr.Sampled < 9000 || tr.Sampled > 11000 {
		t.Fatalf("big table: %+v", tr)
	}
	if took > 3*time.Second {
		t.Fatalf("sampling a 1M-row table took %s, want at most 3 s", took)
	}
}

// Issue 13: the sample compares rows with the same exact hash as tables:
// zero floats swapped between columns, NULL vs zero, bigint and timestamp
// folds, the sign of a numeric, a char(3) domain, and an INCLUDE column
// (not part of the key: the row is changed, not missing).
func TestSampleNoFalseEqual(t *testing.T) {
	needPG(t)
	for _, mp := range [][2]int{{13, 16}, {16, 17}} {
		t.Run(fmt.Sprintf("%d_to_%d", mp[0], mp[1]), func(t *testing.T) {
			src, dst := clusters.Get(t, mp[0]), clusters.Get(t, mp[1])
			db := pairDB(t, src, dst, `CREATE DOMAIN code AS char(3);
				CREATE TABLE t (id int, a float8, b float8, n numeric, i8 bigint, ts timestamp, c code, inc int,
				  PRIMARY KEY (id) INCLUDE (inc));
				INSERT INTO t SELECT g, 1, 1, 1, 1, '2000-01-01', 'abc', 1 FROM generate_series(1, 10) g;`)
			exec(t, src, db, `UPDATE t SET a = 0, b = 5 WHERE id = 1; UPDATE t SET a = NULL WHERE id = 2;
				UPDATE t SET n = 1.5 WHERE id = 3; UPDATE t SET i8 = 5 WHERE id = 4;
				UPDATE t SET ts = '2000-01-01 00:00:00.000005' WHERE id = 5; UPDATE t SET inc = 7 WHERE id = 7`)
			exec(t, dst, db, `UPDATE t SET a = 5, b = 0 WHERE id = 1; UPDATE t SET a = 0 WHERE id = 2;
				UPDATE t SET n = -1.5 WHERE id = 3; UPDATE t SET i8 = 4294967300 WHERE id = 4;
				UPDATE t SET ts = '2000-01-01 01:11:34.9673' WHERE id = 5; UPDATE t SET c = 'abd' WHERE id = 6;
				UPDATE t SET inc = 8 WHERE id = 7`)
			o := opts(src, dst, db)
			o.Percent = 100
			tr := table(t, run(t, o), "public.t")
			if tr.Status != StatusDiffer || tr.Differing != 7 || tr.Changed != 7 || tr.Missing != 0 {
				t.Fatalf("%s: differing %d, changed %d, missing %d, want 7 changed: %+v", tr.Status, tr.Differing, tr.Changed, tr.Missing, tr.Differences)
			}
		})
	}
}
