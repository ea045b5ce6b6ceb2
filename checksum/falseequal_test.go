package checksum

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

// Each case is a table on a source and a target cluster that hold the data
// given, without replication between them; want is exactly what `tables`
// must report. Every "changed" case failed before the hash redesign (issue
// 13): the old hashes said "equal".
type adversarialCase struct {
	name     string
	ddl      string // on both sides
	tgtDDL   string // target only, after ddl (e.g. ALTER ... SET NOT NULL)
	src, tgt string // data
	table    string
	status   Status
	want     []Difference
	minMajor int // skip unless both sides are at least this major
}

func adversarialCases() []adversarialCase {
	chg := func(id string, cols ...string) []Difference {
		return []Difference{{Kind: DiffChanged, Key: key("id", id), Columns: cols}}
	}
	floatCols := make([]string, 64)
	floatVals := make([]string, 64)
	for i := range floatCols {
		floatCols[i] = fmt.Sprintf("f%d float8", i)
		floatVals[i] = fmt.Sprintf("%d.5", i)
	}
	wideCols := make([]string, 120)
	wideVals := make([]string, 120)
	for i := range wideCols {
		wideCols[i] = fmt.Sprintf("c%d int", i)
		wideVals[i] = fmt.Sprint(i)
	}
	wideTgt := append([]string{}, wideVals...)
	wideTgt[119] = "-1"
	floatTgt := append([]string{}, floatVals...)
	floatTgt[63] = "0"
	return []adversarialCase{
		// 1. hashint8extended folds 64 bits to 32: 5 and 2^32+4 collide.
		{name: "bigint value fold", ddl: "CREATE TABLE t (id int PRIMARY KEY, v bigint)",
			src: "INSERT INTO t VALUES (1, 5)", tgt: "INSERT INTO t VALUES (1, 4294967300)",
			table: "public.t", status: StatusMismatch, want: chg("1", "v")},
		{name: "bigint composite key fold", ddl: "CREATE TABLE t (a bigint, b bigint, PRIMARY KEY (a, b))",
			src: "INSERT INTO t VALUES (5, 1)", tgt: "INSERT INTO t VALUES (4294967300, 1)",
			table: "public.t", status: StatusMismatch, want: []Difference{
				{Kind: DiffMissing, Key: key("a", "5", "b", "1")}, {Kind: DiffExtra, Key: key("a", "4294967300", "b", "1")}}},
		{name: "bigint key fold", ddl: "CREATE TABLE t (id bigint PRIMARY KEY)",
			src: "INSERT INTO t VALUES (5)", tgt: "INSERT INTO t VALUES (4294967300)",
			table: "public.t", status: StatusMismatch, want: []Difference{
				{Kind: DiffMissing, Key: key("id", "5")}, {Kind: DiffExtra, Key: key("id", "4294967300")}}},
		{name: "timestamp fold", ddl: "CREATE TABLE t (id int PRIMARY KEY, v timestamp, w timestamptz, x time)",
			src:   "INSERT INTO t VALUES (1, '2000-01-01'::timestamp + interval '0.000005 s', '2000-01-01 00:00:00.000005+00', '00:00:00.000005')",
			tgt:   "INSERT INTO t VALUES (1, '2000-01-01'::timestamp + interval '4294.967300 s', '2000-01-01 01:11:34.9673+00', '01:11:34.9673')",
			table: "public.t", status: StatusMismatch, want: chg("1", "v", "w", "x")},
		// 2. zero contributed the seed, NULL nothing.
		{name: "numeric NULL vs zero", ddl: "CREATE TABLE t (id int PRIMARY KEY, n numeric(12,2), f float8)",
			src: "INSERT INTO t VALUES (1, NULL, NULL)", tgt: "INSERT INTO t VALUES (1, 0.00, 0)",
			table: "public.t", status: StatusMismatch, want: chg("1", "n", "f")},
		{name: "zero/NULL reshuffle keeping the key sum", ddl: "CREATE TABLE t (id int PRIMARY KEY, f float8)",
			src: "INSERT INTO t VALUES (1, 0), (2, 0), (3, NULL)", tgt: "INSERT INTO t VALUES (1, NULL), (2, NULL), (3, 0)",
			table: "public.t", status: StatusMismatch, want: []Difference{
				{Kind: DiffChanged, Key: key("id", "1"), Columns: []string{"f"}},
				{Kind: DiffChanged, Key: key("id", "2"), Columns: []string{"f"}},
				{Kind: DiffChanged, Key: key("id", "3"), Columns: []string{"f"}}}},
		// hash_numeric ignores the sign (found while fixing 1-3).
		{name: "numeric sign", ddl: "CREATE TABLE t (id int PRIMARY KEY, n numeric)",
			src: "INSERT INTO t VALUES (1, 1.5)", tgt: "INSERT INTO t VALUES (1, -1.5)",
			table: "public.t", status: StatusMismatch, want: chg("1", "n")},
		// 3. NaN, Infinity and -Infinity (PG 14+).
		{name: "numeric NaN and infinities", ddl: "CREATE TABLE t (id int PRIMARY KEY, n numeric)", minMajor: 14,
			src:   "INSERT INTO t VALUES (1, 'NaN'), (2, 'Infinity'), (3, '-Infinity')",
			tgt:   "INSERT INTO t VALUES (1, 'Infinity'), (2, '-Infinity'), (3, 'NaN')",
			table: "public.t", status: StatusMismatch, want: []Difference{
				{Kind: DiffChanged, Key: key("id", "1"), Columns: []string{"n"}},
				{Kind: DiffChanged, Key: key("id", "2"), Columns: []string{"n"}},
				{Kind: DiffChanged, Key: key("id", "3"), Columns: []string{"n"}}}},
		// 4. zero floats were transparent in the chained row hash.
		{name: "keyless zero floats swapped", ddl: "CREATE TABLE t (a float8, b float8)",
			src: "INSERT INTO t VALUES (0, 5)", tgt: "INSERT INTO t VALUES (5, 0)",
			table: "public.t", status: StatusMismatch, want: []Difference{
				{Kind: DiffMissing, Key: Key{{Column: "a", Value: strp("0")}, {Column: "b", Value: strp("5")}}},
				{Kind: DiffExtra, Key: Key{{Column: "a", Value: strp("5")}, {Column: "b", Value: strp("0")}}}}},
		{name: "float composite key", ddl: "CREATE TABLE t (a float8, b float8, v text, PRIMARY KEY (a, b))",
			src: "INSERT INTO t VALUES (0, 5, 'x')", tgt: "INSERT INTO t VALUES (5, 0, 'x')",
			table: "public.t", status: StatusMismatch, want: []Difference{
				{Kind: DiffMissing, Key: key("a", "0", "b", "5")}, {Kind: DiffExtra, Key: key("a", "5", "b", "0")}}},
		// 5. domains over char(n)/bit(n) were cast to char(1)/bit(1).
		{name: "domain over char(3) and bit(3)", ddl: "CREATE DOMAIN code AS char(3); CREATE DOMAIN flags AS bit(3); CREATE TABLE t (id int PRIMARY KEY, c code, b flags)",
			src: "INSERT INTO t VALUES (1, 'abc', B'101')", tgt: "INSERT INTO t VALUES (1, 'abd', B'100')",
			table: "public.t", status: StatusMismatch, want: chg("1", "c", "b")},
		{name: "char(3) key", ddl: "CREATE TABLE t (id char(3) PRIMARY KEY, v int)",
			src: "INSERT INTO t VALUES ('abc', 1), ('abd', 2)", tgt: "INSERT INTO t VALUES ('abc', 1), ('abd', 3)",
			table: "public.t", status: StatusMismatch, want: chg("abd", "v")},
		// 8. NOT NULL added on the new cluster must not change row hashes.
		{name: "NOT NULL on the target only", ddl: "CREATE TABLE t (id int PRIMARY KEY, v text, f float8); CREATE TABLE k (a int, b text)",
			tgtDDL: "ALTER TABLE t ALTER v SET NOT NULL, ALTER f SET NOT NULL; ALTER TABLE k ALTER b SET NOT NULL",
			src:    "INSERT INTO t SELECT g, 'v'||g, g FROM generate_series(1, 3000) g; INSERT INTO k VALUES (1, 'x')",
			tgt:    "INSERT INTO t SELECT g, 'v'||g, g FROM generate_series(1, 3000) g; INSERT INTO k VALUES (1, 'x')",
			table:  "public.t", status: StatusMatch},
		// 9. "char" bytes >= 0x80 print differently from PG 15 on.
		{name: `"char" high bytes`, ddl: `CREATE TABLE t (id int PRIMARY KEY, c "char")`,
			src: `INSERT INTO t VALUES (1, (-56)::int4::"char"), (2, 'a')`, tgt: `INSERT INTO t VALUES (1, (-56)::int4::"char"), (2, 'a')`,
			table: "public.t", status: StatusMatch},
		{name: "money", ddl: "CREATE TABLE t (id int PRIMARY KEY, m money)",
			src: "INSERT INTO t VALUES (1, 12.34), (2, 5)", tgt: "INSERT INTO t VALUES (1, 12.34), (2, 5.01)",
			table: "public.t", status: StatusMismatch, want: chg("2", "m")},
		// 10. 64 float columns: the SQL grew x4 per float column.
		{name: "64 float columns", ddl: "CREATE TABLE t (id int PRIMARY KEY, " + strings.Join(floatCols, ", ") + "); CREATE TABLE k (" + strings.Join(floatCols, ", ") + ")",
			src:   "INSERT INTO t VALUES (1, " + strings.Join(floatVals, ", ") + "); INSERT INTO k VALUES (" + strings.Join(floatVals, ", ") + ")",
			tgt:   "INSERT INTO t VALUES (1, " + strings.Join(floatTgt, ", ") + "); INSERT INTO k VALUES (" + strings.Join(floatVals, ", ") + ")",
			table: "public.t", status: StatusMismatch, want: chg("1", "f63")},
		// 11. >= 100 columns: "cannot pass more than 100 arguments".
		{name: "120 columns", ddl: "CREATE TABLE t (id int PRIMARY KEY, " + strings.Join(wideCols, ", ") + ")",
			src:   "INSERT INTO t VALUES (1, " + strings.Join(wideVals, ", ") + ")",
			tgt:   "INSERT INTO t VALUES (1, " + strings.Join(wideTgt, ", ") + ")",
			table: "public.t", status: StatusMismatch, want: chg("1", "c119")},
		// 12. a char(n) key with > 5,000 rows recursed forever.
		{name: "char(8) key drill-down", ddl: "CREATE TABLE t (id char(8) PRIMARY KEY, v int)",
			src:   "INSERT INTO t SELECT lpad(g::text, 6, '0'), g FROM generate_series(1, 20000) g",
			tgt:   "INSERT INTO t SELECT lpad(g::text, 6, '0'), CASE WHEN g = 12345 THEN 0 ELSE g END FROM generate_series(1, 20000) g",
			table: "public.t", status: StatusMismatch, want: chg("012345", "v")},
		// 13. a zero-column table that differs.
		{name: "zero columns", ddl: "CREATE TABLE t ()",
			src: "INSERT INTO t DEFAULT VALUES; INSERT INTO t DEFAULT VALUES; INSERT INTO t DEFAULT VALUES", tgt: "INSERT INTO t DEFAULT VALUES; INSERT INTO t DEFAULT VALUES",
			table: "public.t", status: StatusMismatch, want: []Difference{{Kind: DiffMissing}}},
		// issue 9: a UNIQUE index on NOT NULL columns identifies rows.
		{name: "unique not null key", ddl: "CREATE TABLE t (a int NOT NULL, b text, UNIQUE (a)); CREATE TABLE n (a int, b text, UNIQUE (a))",
			src: "INSERT INTO t VALUES (1, 'x'), (2, 'y'); INSERT INTO n VALUES (1, 'x')", tgt: "INSERT INTO t VALUES (1, 'x'), (2, 'z'); INSERT INTO n VALUES (1, 'x')",
			table: "public.t", status: StatusMismatch, want: []Difference{{Kind: DiffChanged, Key: key("a", "2"), Columns: []string{"b"}}}},
		// issue 12 #3: INCLUDE columns are not key columns.
		{name: "primary key INCLUDE", ddl: "CREATE TABLE t (id int, a int, b text, PRIMARY KEY (id) INCLUDE (a, b))",
			src: "INSERT INTO t VALUES (1, 1, 'x'), (2, 2, 'y')", tgt: "INSERT INTO t VALUES (1, 1, 'x'), (2, 20, 'y')",
			table: "public.t", status: StatusMismatch, want: chg("2", "a")},
	}
}

func strp(s string) *string { return &s }

// pairDBs creates one fresh database on each of two clusters.
func pairDBs(t *testing.T, src, tgt *pgcluster.Cluster, prefix string) (db string) {
	t.Helper()
	db = clusters.NewDB(t, src, prefix)
	if err := tgt.CreateDB(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func majorPairs() [][2]int { return [][2]int{{13, 16}, {16, 17}} }

func TestTablesAdversarialNoFalseEqual(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	for _, mp := range majorPairs() {
		src, tgt := clusters.Get(t, mp[0]), clusters.Get(t, mp[1])
		for _, c := range adversarialCases() {
			if c.minMajor > min(mp[0], mp[1]) {
				continue
			}
			t.Run(fmt.Sprintf("%d_to_%d/%s", mp[0], mp[1], c.name), func(t *testing.T) {
				db := pairDBs(t, src, tgt, "adv")
				for _, side := range []struct {
					c        *pgcluster.Cluster
					ddl, dat string
				}{{src, c.ddl, c.src}, {tgt, c.ddl + ";" + c.tgtDDL, c.tgt}} {
					if err := side.c.Exec(ctx, db, side.ddl); err != nil {
						t.Fatalf("ddl on %d: %v", side.c.Major, err)
					}
					if err := side.c.Exec(ctx, db, side.dat); err != nil {
						t.Fatalf("data on %d: %v", side.c.Major, err)
					}
				}
				for _, leaf := range []int64{0, 40} {
					res := run(t, src.DSN(db), tgt.DSN(db), func(o *Options) { o.LeafRows = leaf })
					tr := table(t, res, c.table)
					if tr.Status != c.status {
						t.Fatalf("leaf %d: status %s (%s), want %s: %+v", leaf, tr.Status, tr.Error, c.status, tr)
					}
					if c.name == "zero columns" {
						if len(tr.Differences) != 1 || tr.Differences[0].Kind != DiffMissing {
							t.Fatalf("zero columns: %+v", tr.Differences)
						}
						continue
					}
					if !sameDifferences(tr.Differences, c.want) {
						t.Fatalf("leaf %d differences:\n got %+v\nwant %+v", leaf, tr.Differences, c.want)
					}
					for _, other := range res.Tables {
						if other.Table != c.table && other.Status != StatusMatch {
							t.Errorf("untouched twin %s: %s (%s)", other.Table, other.Status, other.Error)
						}
					}
				}
			})
		}
	}
}

// 6. Two tables whose qualified names spell the same string are two tables.
func TestTablesDottedNamesPairedBySchemaAndName(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, tgt := clusters.Get(t, 13), clusters.Get(t, 16)
	db := pairDBs(t, src, tgt, "dotted")
	ddl := `CREATE SCHEMA x; CREATE SCHEMA "x.y"; CREATE TABLE x."y.z" (id int PRIMARY KEY, v text); CREATE TABLE "x.y".z (id int PRIMARY KEY, v text);
		INSERT INTO x."y.z" VALUES (1, 'a'); INSERT INTO "x.y".z VALUES (1, 'b')`
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, ddl); err != nil {
			t.Fatal(err)
		}
	}
	if err := tgt.Exec(ctx, db, `UPDATE "x.y".z SET v = 'changed'`); err != nil {
		t.Fatal(err)
	}
	res := run(t, src.DSN(db), tgt.DSN(db), nil)
	if len(res.Tables) != 2 {
		t.Fatalf("want 2 tables, got %+v", res.Tables)
	}
	if tr := table(t, res, `"x.y".z`); tr.Status != StatusMismatch || !sameDifferences(tr.Differences, []Difference{{Kind: DiffChanged, Key: key("id", "1"), Columns: []string{"v"}}}) {
		t.Errorf(`"x.y".z: %+v`, tr)
	}
	if tr := table(t, res, `x."y.z"`); tr.Status != StatusMatch {
		t.Errorf(`x."y.z": %+v`, tr)
	}
}

// 7. Text keys ordered differently on the two sides (C vs ICU): a faithful
// copy is equal, one changed row is exactly that row, nothing repeats.
func TestTablesCollationDriftKeys(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, tgt := clusters.Get(t, 13), clusters.Get(t, 16)
	db := pairDBs(t, src, tgt, "drift")
	load := `INSERT INTO t SELECT CASE WHEN g % 2 = 0 THEN 'a' ELSE 'B' END || g || CASE WHEN g % 3 = 0 THEN ' x' ELSE '-y' END, g FROM generate_series(1, 60000) g`
	if err := src.Exec(ctx, db, `CREATE TABLE t (id text COLLATE "C" PRIMARY KEY, v int);`+load); err != nil {
		t.Fatal(err)
	}
	if err := tgt.Exec(ctx, db, `CREATE TABLE t (id text COLLATE "und-x-icu" PRIMARY KEY, v int);`+load); err != nil {
		t.Fatal(err)
	}
	for _, leaf := range []int64{0, 500} {
		res := run(t, src.DSN(db), tgt.DSN(db), func(o *Options) { o.LeafRows = leaf })
		if tr := table(t, res, "public.t"); tr.Status != StatusMatch || len(tr.Differences) != 0 {
			t.Fatalf("faithful copy, leaf %d: %s %+v (%s)", leaf, tr.Status, tr.Differences[:min(5, len(tr.Differences))], tr.Error)
		}
	}
	if err := tgt.Exec(ctx, db, `UPDATE t SET v = -1 WHERE id = 'a30000 x'`); err != nil {
		t.Fatal(err)
	}
	for _, leaf := range []int64{0, 500} {
		res := run(t, src.DSN(db), tgt.DSN(db), func(o *Options) { o.LeafRows = leaf })
		tr := table(t, res, "public.t")
		if tr.Status != StatusMismatch || !sameDifferences(tr.Differences, []Difference{{Kind: DiffChanged, Key: key("id", "a30000 x"), Columns: []string{"v"}}}) {
			t.Fatalf("one changed row, leaf %d: %s %+v", leaf, tr.Status, tr.Differences[:min(5, len(tr.Differences))])
		}
	}
}

// 14. A row-level security policy must not hide rows: a role that cannot
// bypass it gets an error naming BYPASSRLS; one that can sees the rows.
func TestTablesRowSecurityNeverHidesRows(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, tgt := clusters.Get(t, 13), clusters.Get(t, 16)
	db := pairDBs(t, src, tgt, "rls")
	role := "verifier_" + db
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		ddl := fmt.Sprintf(`CREATE TABLE t (id int PRIMARY KEY, v text);
			ALTER TABLE t ENABLE ROW LEVEL SECURITY;
			CREATE POLICY few ON t USING (id < 10);
			INSERT INTO t SELECT g, 'v' FROM generate_series(1, 100) g;
			CREATE ROLE %[1]s LOGIN PASSWORD 'pw';
			GRANT SELECT ON t TO %[1]s;`, role)
		if err := c.Exec(ctx, db, ddl); err != nil {
			t.Fatal(err)
		}
	}
	if err := tgt.Exec(ctx, db, "DELETE FROM t WHERE id = 50"); err != nil {
		t.Fatal(err)
	}
	as := func(c *pgcluster.Cluster) string {
		u, _ := url.Parse(c.DSN(db))
		u.User = url.UserPassword(role, "pw")
		return u.String()
	}
	res := run(t, as(src), as(tgt), nil)
	tr := table(t, res, "public.t")
	if tr.Status != StatusError || !strings.Contains(tr.Error, "BYPASSRLS") {
		t.Fatalf("role under a policy: %s %q, want an error naming BYPASSRLS", tr.Status, tr.Error)
	}
	if res.Summary.Verdict != VerdictUnverified {
		t.Errorf("verdict %s, want unverified", res.Summary.Verdict)
	}
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, fmt.Sprintf("ALTER ROLE %s BYPASSRLS", role)); err != nil {
			t.Fatal(err)
		}
	}
	res = run(t, as(src), as(tgt), nil)
	tr = table(t, res, "public.t")
	if tr.Status != StatusMismatch || !sameDifferences(tr.Differences, []Difference{{Kind: DiffMissing, Key: key("id", "50")}}) {
		t.Fatalf("BYPASSRLS role: %s %+v", tr.Status, tr.Differences)
	}
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		_ = c.Exec(ctx, db, fmt.Sprintf("DROP OWNED BY %s", role))
		_ = c.Exec(ctx, "postgres", fmt.Sprintf("DROP ROLE IF EXISTS %s", role))
	}
}

// Generated SQL grows linearly with the columns, whatever their types.
func TestHashSQLGrowsLinearly(t *testing.T) {
	size := func(n int, typ string) int {
		var cols []catalog.Column
		for i := 0; i < n; i++ {
			cols = append(cols, catalog.Column{Name: fmt.Sprintf("c%d", i), Type: typ, BaseType: typ, BaseTypeSchema: "pg_catalog", BaseTypeSQL: typ, TypeKind: "b"})
		}
		s, _, err := PairHashSQL(cols, cols, "t")
		if err != nil {
			t.Fatal(err)
		}
		h := newHasher(selfPlans(cols), []string{"c0"}, "t")
		return len(s.Row) + len(strings.Join(h.rangeTerms(), ""))
	}
	for _, typ := range []string{"float8", "int8", "numeric", "timestamptz", "text"} {
		a, b := size(20, typ), size(40, typ)
		if b > 2*a+2000 {
			t.Errorf("%s: 20 columns %d bytes, 40 columns %d bytes: not linear", typ, a, b)
		}
		if b > 100_000 {
			t.Errorf("%s: 40 columns take %d bytes of SQL", typ, b)
		}
	}
}

// Re-checks compare per column: a row damaged in an unchanged TOASTed
// column while the source keeps updating another column of that row is
// "changed (big)", not "unstable" with every column.
func TestTablesRecheckPerColumnOnHotRow(t *testing.T) {
	src, _, s, d := replicated(t, "CREATE TABLE hot (id int PRIMARY KEY, big text, counter int)",
		"INSERT INTO hot SELECT g, repeat(md5(g::text), 20000), 0 FROM generate_series(1, 50) g")
	ctx := context.Background()
	db := dbOf(d)
	tgt := clusters.Get(t, 16)
	waitRows(t, tgt, db, "SELECT count(*) FROM hot", 50)
	if err := tgt.Exec(ctx, db, "UPDATE hot SET big = big || 'x' WHERE id = 7"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var updates atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := src.Connect(ctx, db)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := conn.Exec(ctx, "UPDATE hot SET counter = counter + 1 WHERE id = 7"); err == nil {
				updates.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	res := run(t, s, d, func(o *Options) { o.Rechecks = 3 })
	close(stop)
	wg.Wait()
	tr := table(t, res, "public.hot")
	if updates.Load() == 0 {
		t.Fatal("the writer made no update")
	}
	if tr.Status != StatusMismatch || !sameDifferences(tr.Differences, []Difference{{Kind: DiffChanged, Key: key("id", "7"), Columns: []string{"big"}}}) {
		t.Fatalf("hot row: %s %+v notes %v", tr.Status, tr.Differences, tr.Notes)
	}
}

// issue 12 #2: rows past --max-diffs are not "matched once the target
// caught up" when they are still missing.
func TestTablesLiveLagCountBeforeTruncation(t *testing.T) {
	_, tgt, s, d := replicated(t, "CREATE TABLE lag (id int PRIMARY KEY, v text)",
		"INSERT INTO lag SELECT g, 'v' FROM generate_series(1, 2000) g")
	ctx := context.Background()
	db := dbOf(d)
	waitRows(t, tgt, db, "SELECT count(*) FROM lag", 2000)
	if err := tgt.Exec(ctx, db, "DELETE FROM lag"); err != nil {
		t.Fatal(err)
	}
	res := run(t, s, d, func(o *Options) { o.MaxDiffs = 100 })
	tr := table(t, res, "public.lag")
	if tr.Status != StatusMismatch || len(tr.Differences) != 100 || !tr.DifferencesTruncated {
		t.Fatalf("status %s, %d differences, truncated %v", tr.Status, len(tr.Differences), tr.DifferencesTruncated)
	}
	for _, n := range tr.Notes {
		if strings.Contains(n, "matched once the target caught up") {
			t.Errorf("note says rows matched although all 2000 are missing: %q", n)
		}
	}
	if tr.DifferenceCount != 2000 {
		t.Errorf("difference_count %d, want 2000", tr.DifferenceCount)
	}
}

func waitRows(t *testing.T, c *pgcluster.Cluster, db, q string, want int64) {
	t.Helper()
	ctx := context.Background()
	conn, err := c.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int64
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d rows, want %d", q, n, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Issue 14 #5: workers release each unit's locks; with hundreds of tables no
// pgverify session holds more than a handful of relation locks at once.
func TestTablesBoundedLocks(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, tgt := clusters.Get(t, 13), clusters.Get(t, 16)
	db := pairDBs(t, src, tgt, "locks")
	ddl := `DO $$ BEGIN FOR i IN 1..300 LOOP
		EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text); INSERT INTO t%s VALUES (1, ''x'')', i, i);
	END LOOP; END $$`
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, ddl); err != nil {
			t.Fatal(err)
		}
	}
	mon, err := src.Connect(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close(ctx)
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var n int64
			_ = mon.QueryRow(ctx, `SELECT COALESCE(max(c), 0) FROM (SELECT l.pid, count(*) c FROM pg_locks l
				JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = 'pgverify' AND l.locktype = 'relation'
				GROUP BY l.pid) x`).Scan(&n)
			if n > peak.Load() {
				peak.Store(n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	res := run(t, src.DSN(db), tgt.DSN(db), func(o *Options) { o.Jobs = 2 })
	close(stop)
	wg.Wait()
	if res.Summary.Match != 300 {
		t.Fatalf("want 300 equal tables: %+v", res.Summary)
	}
	// A unit reads one table (plus its index and the catalogs it touches);
	// holding every table read would be ~300 per worker.
	if p := peak.Load(); p > 40 {
		t.Errorf("a pgverify session held %d relation locks at once", p)
	} else {
		t.Logf("peak relation locks held by one pgverify session: %d", p)
	}
}

// Issue 14 #6: sessions in the shared snapshots (coordinators and workers
// waiting in the pool) stay alive past idle_in_transaction_session_timeout
// for as long as a run needs them, and still see the snapshot.
func TestSnapshotSessionsOutliveIdleTimeout(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, tgt := clusters.Get(t, 13), clusters.Get(t, 16)
	db := pairDBs(t, src, tgt, "idle")
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)"); err != nil {
			t.Fatal(err)
		}
	}
	opts := func(role string) dbconn.Options {
		return dbconn.Options{Role: role, Params: map[string]string{"idle_in_transaction_session_timeout": "1500"}}
	}
	s, err := openSide(ctx, src.DSN(db), opts("source"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close(ctx)
	d, err := openSide(ctx, tgt.DSN(db), opts("target"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close(ctx)
	for _, x := range []*side{s, d} {
		if _, err := x.begin(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pool, closePool, err := openPool(ctx, s, d, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer closePool()
	stop := keepAlive(ctx, pool, s, d)
	// A write after the snapshot must stay invisible to every session.
	if err := src.Exec(ctx, db, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // over three idle timeouts
	stop()
	for _, x := range []*side{s, d} {
		if err := x.lostErr(); err != nil {
			t.Errorf("%s coordinator lost: %v", x.name, err)
		}
	}
	for i := 0; i < 3; i++ {
		p := <-pool
		for _, c := range []*pgx.Conn{p.src, p.tgt} {
			var n int
			if err := c.QueryRow(ctx, "SELECT count(*) FROM public.t").Scan(&n); err != nil || n != 1 {
				t.Errorf("worker %d after 5 s: count %d, %v", i, n, err)
			}
		}
	}
}

// Issue 9: a keyless table larger than NoKeyDiffRows still names its
// differing rows (through buckets of the row hash).
func TestTablesLargeKeylessListsRows(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, tgt := clusters.Get(t, 13), clusters.Get(t, 16)
	db := pairDBs(t, src, tgt, "bigkeyless")
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, "CREATE TABLE t (a int, b text); INSERT INTO t SELECT g % 1000, 'b' || g FROM generate_series(1, 20000) g"); err != nil {
			t.Fatal(err)
		}
	}
	if err := tgt.Exec(ctx, db, "UPDATE t SET b = 'changed' WHERE b = 'b777'; INSERT INTO t VALUES (5, 'b5')"); err != nil {
		t.Fatal(err)
	}
	res := run(t, src.DSN(db), tgt.DSN(db), func(o *Options) { o.NoKeyDiffRows = 1000 })
	tr := table(t, res, "public.t")
	want := []Difference{
		{Kind: DiffMissing, Key: Key{{Column: "a", Value: strp("777")}, {Column: "b", Value: strp("b777")}}},
		{Kind: DiffExtra, Key: Key{{Column: "a", Value: strp("777")}, {Column: "b", Value: strp("changed")}}},
		{Kind: DiffExtra, Key: Key{{Column: "a", Value: strp("5")}, {Column: "b", Value: strp("b5")}}},
	}
	if tr.Status != StatusMismatch || !sameDifferences(tr.Differences, want) {
		t.Fatalf("%s %+v notes %v", tr.Status, tr.Differences, tr.Notes)
	}
}
