package checksum

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

// shardFixture: keyed, composite, text-keyed and keyless tables with a few
// differences of every kind.
func shardFixture(t *testing.T) (src, tgt *pgcluster.Cluster, db string) {
	t.Helper()
	needPG(t)
	ctx := context.Background()
	src, tgt = clusters.Get(t, 13), clusters.Get(t, 16)
	db = pairDBs(t, src, tgt, "shard")
	ddl := `CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, 'v'||g FROM generate_series(1, 20000) g;
		CREATE TABLE b (x int, y text, v int, PRIMARY KEY (x, y)); INSERT INTO b SELECT g % 50, 'y'||g, g FROM generate_series(1, 5000) g;
		CREATE TABLE c (id text PRIMARY KEY, v int); INSERT INTO c SELECT 'k'||g, g FROM generate_series(1, 3000) g;
		CREATE TABLE d (v int, w text); INSERT INTO d SELECT g % 100, 'w'||(g % 7) FROM generate_series(1, 4000) g;
		CREATE TABLE e (id int PRIMARY KEY); INSERT INTO e SELECT generate_series(1, 100);`
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, ddl); err != nil {
			t.Fatal(err)
		}
	}
	if err := tgt.Exec(ctx, db, `DELETE FROM a WHERE id IN (5, 9999, 20000); UPDATE a SET v = 'x' WHERE id IN (1, 777);
		INSERT INTO a VALUES (30000, 'extra'); UPDATE b SET v = 0 WHERE x = 3 AND y IN ('y3', 'y53');
		DELETE FROM c WHERE id = 'k42'; UPDATE d SET w = 'changed' WHERE ctid = (SELECT min(ctid) FROM d WHERE v = 5);
		INSERT INTO d VALUES (1000, 'new')`); err != nil {
		t.Fatal(err)
	}
	return src, tgt, db
}

func diffSet(res *Result) (map[string]bool, int64, int64) {
	out := map[string]bool{}
	var rs, rt int64
	for _, tr := range res.Tables {
		rs, rt = rs+tr.RowsSource, rt+tr.RowsTarget
		for _, d := range tr.Differences {
			out[fmt.Sprintf("%s|%s|%s|%v", tr.Table, d.Kind, d.Key, d.Columns)] = true
		}
	}
	return out, rs, rt
}

// Issue 11: the union of N shard reports equals a full run, and each row is
// in exactly one shard.
func TestTablesShardsUnionIsFullRun(t *testing.T) {
	src, tgt, db := shardFixture(t)
	full := run(t, src.DSN(db), tgt.DSN(db), func(o *Options) { o.RangeRows = 1000 })
	want, ws, wt := diffSet(full)
	if len(want) != 12 {
		t.Fatalf("full run: %d differences, want 12: %v", len(want), want)
	}
	const n = 3
	got := map[string]bool{}
	var gs, gt int64
	for i := 1; i <= n; i++ {
		res := run(t, src.DSN(db), tgt.DSN(db), func(o *Options) { o.RangeRows, o.Shard = 1000, Shard{I: i, N: n} })
		if res.Summary.Shard != fmt.Sprintf("%d/%d", i, n) {
			t.Errorf("summary shard %q", res.Summary.Shard)
		}
		ds, rs, rt := diffSet(res)
		for d := range ds {
			if got[d] {
				t.Errorf("difference %s in two shards", d)
			}
			got[d] = true
		}
		gs, gt = gs+rs, gt+rt
	}
	if gs != ws || gt != wt {
		t.Errorf("rows over all shards %d/%d, full run %d/%d", gs, gt, ws, wt)
	}
	if len(got) != len(want) {
		t.Errorf("shards found %d differences, the full run %d", len(got), len(want))
	}
	for d := range want {
		if !got[d] {
			t.Errorf("no shard found %s", d)
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"0/3", "4/3", "1/0", "a/b", "1/2/3", "1", "-1/2", "1/2x", "1/2000"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	if s, err := ParseShard("2/4"); err != nil || s != (Shard{2, 4}) {
		t.Errorf("2/4: %v %v", s, err)
	}
}

// Issue 11: --state skips what an earlier (interrupted) run verified, says
// so, and refuses a state whose tables changed.
func TestTablesStateResumes(t *testing.T) {
	src, tgt, db := shardFixture(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	st, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	// An interrupted run: cancel once the first table is recorded.
	cctx, cancel := context.WithCancel(ctx)
	o := Options{SourceDSN: src.DSN(db), TargetDSN: tgt.DSN(db), Jobs: 1, RangeRows: 1000, State: st,
		Progress: &cancelAfter{n: 6, cancel: cancel}}
	if _, err := Run(cctx, o); err == nil {
		t.Log("the run finished before it was interrupted")
	}
	cancel()
	st, err = OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	recorded := len(st.data.Tables)
	if recorded == 0 {
		t.Fatal("the interrupted run recorded no table")
	}
	res := run(t, src.DSN(db), tgt.DSN(db), func(o *Options) { o.RangeRows, o.State = 1000, st })
	if res.Summary.FromState != recorded {
		t.Errorf("from_state %d, want %d", res.Summary.FromState, recorded)
	}
	if res.Summary.Mismatch != 4 || res.Summary.Match != 1 {
		t.Errorf("resumed run: %+v", res.Summary)
	}
	// Everything equal is recorded now: only tables "e" and none else.
	st2, _ := OpenState(path)
	var names []string
	for _, tb := range st2.data.Tables {
		names = append(names, tb.Name)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[e]" {
		t.Errorf("recorded tables %v, want [e]", names)
	}
	res = run(t, src.DSN(db), tgt.DSN(db), func(o *Options) { o.RangeRows, o.State = 1000, st2 })
	if res.Summary.FromState != 1 || table(t, res, "public.e").Status != StatusMatch {
		t.Errorf("third run: %+v", res.Summary)
	}
	// A changed table makes the state stale.
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, "ALTER TABLE e ADD COLUMN z int"); err != nil {
			t.Fatal(err)
		}
	}
	st3, _ := OpenState(path)
	_, err = Run(ctx, Options{SourceDSN: src.DSN(db), TargetDSN: tgt.DSN(db), State: st3})
	var stale *StaleStateError
	if !errors.As(err, &stale) {
		t.Fatalf("changed table: %v, want a stale state error", err)
	}
	// Another shard is refused too.
	st4, _ := OpenState(path)
	if _, err := Run(ctx, Options{SourceDSN: src.DSN(db), TargetDSN: tgt.DSN(db), State: st4, Shard: Shard{1, 2}}); !errors.As(err, &stale) {
		t.Fatalf("other shard: %v", err)
	}
}

// cancelAfter cancels the run after n progress advances.
type cancelAfter struct {
	n      int
	cancel func()
	mu     sync.Mutex
	seen   int
}

func (c *cancelAfter) Start(int, int64) {}
func (c *cancelAfter) Finish()          {}
func (c *cancelAfter) Advance(int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen++; c.seen >= c.n {
		c.cancel()
	}
}
