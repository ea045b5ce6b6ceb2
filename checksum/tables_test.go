package checksum

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

// replicated creates a database on a PG 13 source and a PG 16 target, runs
// ddl on both, load on the source, and subscribes the target to the source.
func replicated(t *testing.T, ddl, load string) (src, tgt *pgcluster.Cluster, srcDSN, tgtDSN string) {
	t.Helper()
	needPG(t)
	ctx := context.Background()
	src, tgt = clusters.Get(t, 13), clusters.Get(t, 16)
	db := clusters.NewDB(t, src, "tables")
	if err := tgt.CreateDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, ddl); err != nil {
			t.Fatalf("ddl on %d: %v", c.Major, err)
		}
	}
	if load != "" {
		if err := src.Exec(ctx, db, load); err != nil {
			t.Fatalf("load: %v", err)
		}
	}
	if err := pgcluster.Subscribe(ctx, src, tgt, db, db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Drop the subscription so its slot does not hold WAL for other tests.
		_ = tgt.Exec(context.Background(), db, fmt.Sprintf("DROP SUBSCRIPTION %s", db))
	})
	return src, tgt, src.DSN(db), tgt.DSN(db)
}

func dbOf(dsn string) string {
	i := strings.LastIndex(dsn, "/")
	return strings.SplitN(dsn[i+1:], "?", 2)[0]
}

func run(t *testing.T, src, tgt string, mod func(*Options)) *Result {
	t.Helper()
	o := Options{SourceDSN: src, TargetDSN: tgt, Jobs: 3, RangeRows: 2000, Rechecks: 2, CatchUpTimeout: 20 * time.Second}
	if mod != nil {
		mod(&o)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func table(t *testing.T, res *Result, name string) TableResult {
	t.Helper()
	for _, tr := range res.Tables {
		if tr.Table == name {
			return tr
		}
	}
	t.Fatalf("table %s not in result: %+v", name, res.Tables)
	return TableResult{}
}

// allTypesDDL covers every key kind and column type the issue names, quoted
// and reserved-word identifiers, another schema, an empty table, a table
// without a primary key and TOASTed values.
const allTypesDDL = `
CREATE SCHEMA "Sales Data";
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS numeric CHECK (VALUE > 0);
CREATE TYPE pair AS (n int, s text);
CREATE TABLE k_int2 (id smallint PRIMARY KEY, v text);
CREATE TABLE k_int4 (id int PRIMARY KEY, v text);
CREATE TABLE k_int8 (id bigint PRIMARY KEY, v text);
CREATE TABLE k_uuid (id uuid PRIMARY KEY, v text);
CREATE TABLE k_text (id text COLLATE "C" PRIMARY KEY, v int);
CREATE TABLE k_text_coll (id text COLLATE "POSIX" PRIMARY KEY, v int);
CREATE TABLE k_composite (a int, b text, c date, v text, PRIMARY KEY (a, b, c));
CREATE TABLE "Sales Data"."Order" ("select" int PRIMARY KEY, "From" text, "user" text);
CREATE TABLE empty_table (id int PRIMARY KEY, v text);
CREATE TABLE no_pk (a int, b text);
CREATE TABLE all_types (
  id int PRIMARY KEY,
  i2 int2, i4 int4, i8 int8, num numeric, num_s numeric(12,2), f4 float4, f8 float8,
  t text, vc varchar(20), c char(4), bin bytea, u uuid, j json, jb jsonb,
  arr_t text[], arr_i int[], arr_n numeric[],
  ts timestamp, tstz timestamptz, d date, iv interval,
  m mood, dom positive, comp pair, big text, b boolean
);`

const allTypesLoad = `
INSERT INTO k_int2 SELECT g, 'v'||g FROM generate_series(-3000, 3000) g;
INSERT INTO k_int4 SELECT g, 'v'||g FROM generate_series(1, 5000) g;
INSERT INTO k_int8 SELECT g::int8 * 1000000000, 'v'||g FROM generate_series(-2500, 2500) g;
INSERT INTO k_uuid SELECT md5(g::text)::uuid, 'v'||g FROM generate_series(1, 5000) g;
INSERT INTO k_text SELECT 'key ' || g || ' é', g FROM generate_series(1, 5000) g;
INSERT INTO k_text_coll SELECT chr(65 + g % 50) || g, g FROM generate_series(1, 5000) g;
INSERT INTO k_composite SELECT g % 7, 'b' || (g % 13), date '2024-01-01' + g, 'v' || g FROM generate_series(1, 5000) g;
INSERT INTO "Sales Data"."Order" SELECT g, 'from ' || g, 'u' || g FROM generate_series(1, 3000) g;
INSERT INTO no_pk SELECT g % 100, 'b' || (g % 7) FROM generate_series(1, 3000) g;
INSERT INTO all_types VALUES
  (1, 1, 2, 3, 1.0, 1.50, '-0', '-0', '', 'x ', 'ab', '\x00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '{"a": 1}', '{"a": 1.0}', '{a,NULL}', '[0:1]={1,2}', '{1.10}', '2024-01-01 00:00:00.5', '2024-01-01 00:00:00+02',
   '2024-02-29', '1 day', 'happy', 1.0, ROW(1, 'x '), repeat('é', 600000), true),
  (2, NULL, NULL, NULL, 'NaN', NULL, 'NaN', 'Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   'infinity', '-infinity', 'infinity', '-1 mon', NULL, NULL, NULL, NULL, NULL),
  (3, -32768, -2147483648, -9223372036854775808, -0.000001, -9999999999.99, 1e-38, 1e308, 'ünïcødé ✓', 'y', 'a', '', NULL,
   '[]', '{}', '{}', '{}', '{}', '1999-12-31 23:59:59.999999', '1999-12-31 23:59:59.999999+00', '1999-12-31', '24 hours',
   'sad', 2, ROW(NULL, NULL), repeat(md5('x'), 40000), false);
INSERT INTO all_types (id, t, big) SELECT g, 'row ' || g, CASE WHEN g % 500 = 0 THEN repeat(md5(g::text), 33000) END FROM generate_series(4, 4000) g;
`

func TestTablesIdenticalAcrossMajors(t *testing.T) {
	_, _, s, d := replicated(t, allTypesDDL, allTypesLoad)
	res := run(t, s, d, nil)
	for _, tr := range res.Tables {
		if tr.Status != StatusMatch || len(tr.Differences) != 0 || tr.RowsSource != tr.RowsTarget {
			t.Errorf("%s: %s rows %d/%d diffs %+v err %s", tr.Table, tr.Status, tr.RowsSource, tr.RowsTarget, tr.Differences, tr.Error)
		}
	}
	if res.Summary.Verdict != VerdictEqual || res.Summary.Tables != 11 {
		t.Fatalf("verdict %s over %d tables, want equal over 11", res.Summary.Verdict, res.Summary.Tables)
	}
	// Ranges really were used on the bigger tables, and open ranges covered all rows.
	if tr := table(t, res, "public.k_int8"); tr.Ranges < 2 || tr.RowsSource != 5001 {
		t.Errorf("k_int8: %d ranges, %d rows; want several ranges and 5001 rows", tr.Ranges, tr.RowsSource)
	}
	if tr := table(t, res, `"Sales Data"."Order"`); tr.RowsSource != 3000 {
		t.Errorf("quoted table: %d rows", tr.RowsSource)
	}
	if tr := table(t, res, "public.empty_table"); tr.Status != StatusMatch || tr.RowsSource != 0 {
		t.Errorf("empty table: %+v", tr)
	}
	if tr := table(t, res, "public.no_pk"); !tr.NoKey || tr.Status != StatusMatch {
		t.Errorf("no_pk: %+v", tr)
	}
}

type damage struct {
	table, sql string
	want       []Difference
}

func key(kv ...string) Key {
	var k Key
	for i := 0; i < len(kv); i += 2 {
		v := kv[i+1]
		k = append(k, KeyPart{Column: kv[i], Value: &v})
	}
	return k
}

func TestTablesFindsEachDifference(t *testing.T) {
	_, tgt, s, d := replicated(t, allTypesDDL, allTypesLoad)
	cases := []damage{
		{"public.k_int2", "DELETE FROM k_int2 WHERE id = -3000", []Difference{{Kind: DiffMissing, Key: key("id", "-3000")}}},
		{"public.k_int4", "INSERT INTO k_int4 VALUES (5001, 'new')", []Difference{{Kind: DiffExtra, Key: key("id", "5001")}}},
		{"public.k_int8", "UPDATE k_int8 SET v = 'changed' WHERE id = 0", []Difference{{Kind: DiffChanged, Key: key("id", "0"), Columns: []string{"v"}}}},
		{"public.k_uuid", "UPDATE k_uuid SET v = v || ' ' WHERE id = md5('77')::uuid", []Difference{{Kind: DiffChanged, Key: key("id", "28dd2c79-55ce-9264-5624-0b2ff0100bde"), Columns: []string{"v"}}}},
		{"public.k_text", "DELETE FROM k_text WHERE id = 'key 4999 é'", []Difference{{Kind: DiffMissing, Key: key("id", "key 4999 é")}}},
		{"public.k_composite", "UPDATE k_composite SET v = NULL WHERE a = 3 AND b = 'b3' AND c = date '2024-01-01' + 3",
			[]Difference{{Kind: DiffChanged, Key: key("a", "3", "b", "b3", "c", "2024-01-04"), Columns: []string{"v"}}}},
		{`"Sales Data"."Order"`, `UPDATE "Sales Data"."Order" SET "From" = 'x', "user" = 'y' WHERE "select" = 1`,
			[]Difference{{Kind: DiffChanged, Key: key("select", "1"), Columns: []string{"From", "user"}}}},
		{"public.all_types", "UPDATE all_types SET num = 1.00, f8 = 0, t = NULL, c = 'ab  ', jb = '{\"a\": 1}', arr_i = '{1,2}', big = big || 'x' WHERE id = 1",
			[]Difference{{Kind: DiffChanged, Key: key("id", "1"), Columns: []string{"num", "f8", "t", "jb", "arr_i", "big"}}}},
		{"public.all_types", "UPDATE all_types SET t = '' WHERE id = 2", []Difference{{Kind: DiffChanged, Key: key("id", "2"), Columns: []string{"t"}}}},
	}
	ctx := context.Background()
	db := dbOf(d)
	for _, c := range cases {
		if err := tgt.Exec(ctx, db, c.sql); err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
	}
	if err := tgt.Exec(ctx, db, "DELETE FROM no_pk WHERE ctid = (SELECT min(ctid) FROM no_pk WHERE a = 5)"); err != nil {
		t.Fatal(err)
	}
	want := map[string][]Difference{}
	for _, c := range cases {
		want[c.table] = append(want[c.table], c.want...)
	}
	// Row-by-row at once, and after splitting ranges down to 40-row leaves:
	// both must name exactly the same rows.
	for _, leaf := range []int64{0, 40} {
		t.Run(fmt.Sprintf("leaf rows %d", leaf), func(t *testing.T) {
			checkEachDifference(t, run(t, s, d, func(o *Options) { o.LeafRows = leaf }), want)
		})
	}
}

func checkEachDifference(t *testing.T, res *Result, want map[string][]Difference) {
	for name, wd := range want {
		tr := table(t, res, name)
		if tr.Status != StatusMismatch {
			t.Errorf("%s: status %s, want mismatch (%s)", name, tr.Status, tr.Error)
		}
		if got, exp := fmt.Sprintf("%+v", tr.Differences), fmt.Sprintf("%+v", wd); !sameDifferences(tr.Differences, wd) {
			t.Errorf("%s differences:\n got %s\nwant %s", name, got, exp)
		}
	}
	np := table(t, res, "public.no_pk")
	if np.Status != StatusMismatch || len(np.Differences) != 1 || np.Differences[0].Kind != DiffMissing ||
		np.Differences[0].Key.String() != "a=5, b=b5" {
		t.Errorf("no_pk: %+v", np)
	}
	for _, name := range []string{"public.empty_table", "public.k_text_coll"} {
		if tr := table(t, res, name); tr.Status != StatusMatch {
			t.Errorf("%s: %s, want match", name, tr.Status)
		}
	}
	if res.Summary.Verdict != VerdictDifferent {
		t.Errorf("verdict %s", res.Summary.Verdict)
	}
}

func sameDifferences(got, want []Difference) bool {
	if len(got) != len(want) {
		return false
	}
	s := func(ds []Difference) []string {
		var out []string
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%s|%s|%v", d.Kind, d.Key.String(), d.Columns))
		}
		return out
	}
	g, w := s(got), s(want)
	m := map[string]int{}
	for _, x := range g {
		m[x]++
	}
	for _, x := range w {
		if m[x] == 0 {
			return false
		}
		m[x]--
	}
	return true
}

func TestTablesMissingTablesAndColumns(t *testing.T) {
	_, tgt, s, d := replicated(t, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, x int)", "INSERT INTO a VALUES (1)")
	ctx := context.Background()
	if err := tgt.Exec(ctx, dbOf(d), "CREATE TABLE only_target (id int); ALTER TABLE b ADD COLUMN y int"); err != nil {
		t.Fatal(err)
	}
	res := run(t, s, d, nil)
	if tr := table(t, res, "public.only_target"); tr.Status != StatusMissingOnSource {
		t.Errorf("only_target: %s", tr.Status)
	}
	if tr := table(t, res, "public.b"); tr.Status != StatusError || !strings.Contains(tr.Error, `column "y" exists only on the target`) {
		t.Errorf("b: %s %q", tr.Status, tr.Error)
	}
	if tr := table(t, res, "public.a"); tr.Status != StatusMatch {
		t.Errorf("a: %s", tr.Status)
	}
	// Selection: only a, so the verdict is equal.
	res = run(t, s, d, func(o *Options) { o.Selection = catalog.Selection{Include: []string{"public.a"}} })
	if len(res.Tables) != 1 || res.Summary.Verdict != VerdictEqual {
		t.Errorf("selection: %+v", res.Summary)
	}
	_, err := Run(context.Background(), Options{SourceDSN: s, TargetDSN: d, Selection: catalog.Selection{Include: []string{"public.nope"}}})
	if err == nil || !strings.Contains(err.Error(), "no table matches --table public.nope") {
		t.Errorf("unmatched --table: %v", err)
	}
}

// Live writes on the source while comparing: replication lag must not show
// as differences, and a real difference must still be found.
func TestTablesLiveWritesNoFalsePositives(t *testing.T) {
	src, tgt, s, d := replicated(t, "CREATE TABLE hot (id int PRIMARY KEY, n int, note text); CREATE TABLE cold (id int PRIMARY KEY, v text)",
		"INSERT INTO hot SELECT g, 0, 'x' FROM generate_series(1, 20000) g; INSERT INTO cold SELECT g, 'v' FROM generate_series(1, 5000) g")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := dbOf(s)
	// A real loss: a row deleted on the target only.
	if err := tgt.Exec(ctx, db, "DELETE FROM cold WHERE id = 4242"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := src.Connect(ctx, db)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		rng := rand.New(rand.NewSource(1))
		deadline := time.Now().Add(8 * time.Second)
		next := 30000
		for i := 0; ctx.Err() == nil && time.Now().Before(deadline); i++ {
			id := 1 + rng.Intn(20000)
			_, _ = conn.Exec(ctx, "UPDATE hot SET n = n + 1, note = md5(random()::text) WHERE id = $1", id)
			if i%5 == 0 {
				next++
				_, _ = conn.Exec(ctx, "INSERT INTO hot VALUES ($1, 0, 'new')", next)
				_, _ = conn.Exec(ctx, "DELETE FROM hot WHERE id = $1", 1+rng.Intn(20000))
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(500 * time.Millisecond) // writes under way before the run
	res := run(t, s, d, func(o *Options) { o.Rechecks = 4 })
	cancel()
	wg.Wait()
	hot := table(t, res, "public.hot")
	for _, df := range hot.Differences {
		if df.Kind != DiffUnstable {
			t.Errorf("hot: false positive %+v (status %s, notes %v)", df, hot.Status, hot.Notes)
		}
	}
	if hot.Status == StatusMismatch || hot.Status == StatusError {
		t.Errorf("hot: status %s, want match (or at worst unstable); notes %v", hot.Status, hot.Notes)
	}
	cold := table(t, res, "public.cold")
	if cold.Status != StatusMismatch || !sameDifferences(cold.Differences, []Difference{{Kind: DiffMissing, Key: key("id", "4242")}}) {
		t.Errorf("cold: %s %+v", cold.Status, cold.Differences)
	}
	if res.Summary.Replication == "" {
		t.Error("live subscription not detected")
	}
}
