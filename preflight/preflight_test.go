package preflight

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
	"github.com/pgverify/pgverify/internal/pgcluster"
)

var majors = []int{13, 16, 17}

// cleanSchema is what a well-prepared application database looks like.
const cleanSchema = `
CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2));
CREATE TABLE events (account_id int REFERENCES accounts, at timestamptz, kind text,
                     PRIMARY KEY (account_id, at));
CREATE FUNCTION positive(x numeric) RETURNS bool LANGUAGE sql IMMUTABLE AS $$ SELECT x >= 0 $$;
ALTER TABLE accounts ADD CHECK (public.positive(balance));`

// brokenSchema trips every source rule that a schema can trip.
const brokenSchema = `
SET check_function_bodies = off;
CREATE TABLE ok (id int PRIMARY KEY, v text);
CREATE TABLE no_identity (id int, v text);                           -- PF004, PF006
CREATE TABLE ident_nothing (id int PRIMARY KEY);                     -- PF004
ALTER TABLE ident_nothing REPLICA IDENTITY NOTHING;
CREATE TABLE full_point (id int, p point, j json, ok int[]);         -- PF005, PF006
ALTER TABLE full_point REPLICA IDENTITY FULL;
CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY);                  -- PF007
SELECT lo_from_bytea(0, 'hello');                                    -- PF008
CREATE MATERIALIZED VIEW totals AS SELECT count(*) FROM ok;          -- PF009
CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE remote (a int) SERVER files OPTIONS (filename '/dev/null'); -- PF010
CREATE TABLE parted (id int, k int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k); -- PF011
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);
CREATE COLLATION drift (provider = icu, locale = 'de-DE');          -- PF016
UPDATE pg_collation SET collversion = '0.1' WHERE collname = 'drift';
-- PF017: a CHECK reaching two functions that name things unqualified
-- (Instant's outage), next to qualified and pinned ones that are safe.
CREATE FUNCTION is_valid(x int) RETURNS bool LANGUAGE sql AS $$ SELECT helper(x) $$;
CREATE FUNCTION helper(x int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN RETURN x > (SELECT count(*) FROM ok); END $$;
CREATE TABLE checked (id int PRIMARY KEY, v int CHECK (public.is_valid(v)));
CREATE FUNCTION qualified(x int) RETURNS bool LANGUAGE sql AS $$ SELECT x > (SELECT count(*) FROM public."ok") $$;
CREATE FUNCTION pinned(x int) RETURNS int LANGUAGE sql SET search_path = public AS $$ SELECT x + (SELECT count(*) FROM ok)::int $$;
CREATE TABLE safe (id int PRIMARY KEY, v int CHECK (public.qualified(v)), w int DEFAULT public.pinned(1));
-- PF018 (and PF017 through the trigger function)
CREATE TABLE audit (id int PRIMARY KEY);
CREATE FUNCTION audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER audited AFTER INSERT ON ok FOR EACH ROW EXECUTE FUNCTION public.audit_fn();
ALTER TABLE ok ENABLE ALWAYS TRIGGER audited;
CREATE FUNCTION local_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER local_only AFTER INSERT ON safe FOR EACH ROW EXECUTE FUNCTION public.local_fn();
CREATE TABLE gen (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED); -- PF019
-- PF017 (warning): dynamic SQL in a REPLICA trigger cannot be checked
CREATE FUNCTION dyn_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'SELECT ' || NEW.id; RETURN NEW; END $$;
CREATE TRIGGER dyn AFTER INSERT ON gen FOR EACH ROW EXECUTE FUNCTION public.dyn_fn();
ALTER TABLE gen ENABLE REPLICA TRIGGER dyn;
CREATE SEQUENCE counter;                                             -- PF020
`

func TestCleanSourceHasNoFindings(t *testing.T) {
	needPG(t)
	for _, major := range majors {
		t.Run(fmt.Sprintf("PG%d", major), func(t *testing.T) {
			c := clusters.get(t, "main", major)
			db := clusters.newDB(t, c, cleanSchema)
			res := run(t, connect(t, c, db, "source"), nil, Options{})
			if res.Failed() {
				t.Fatalf("clean database failed preflight:\n%s", dump(res))
			}
			// Only the note that the target rules were skipped.
			if len(res.Findings) != 1 || res.Findings[0].Code != codeSkipped || res.Findings[0].Severity != Info {
				t.Fatalf("want only %s, got:\n%s", codeSkipped, dump(res))
			}
			if res.Source.Major != major {
				t.Fatalf("source major %d, want %d", res.Source.Major, major)
			}
		})
	}
}

func TestBrokenSourceTripsEveryRule(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	for _, major := range majors {
		t.Run(fmt.Sprintf("PG%d", major), func(t *testing.T) {
			c := clusters.get(t, "main", major)
			db := clusters.newDB(t, c, brokenSchema)
			if major >= 15 {
				exec(t, c, db, "UPDATE pg_database SET datcollversion = '0.1' WHERE datname = current_database()")
			}
			// PF013: a logical slot nobody consumes (before the open
			// transactions below, which slot creation would wait for).
			slotName := "pf013_" + db
			exec(t, c, db, fmt.Sprintf("SELECT pg_create_logical_replication_slot('%s', 'pgoutput')", slotName))
			t.Cleanup(func() { _ = c.Exec(ctx, db, fmt.Sprintf("SELECT pg_drop_replication_slot('%s')", slotName)) })
			// PF015: a prepared transaction; PF014: an open one holding an xid.
			gid := "pf015_" + db
			exec(t, c, db, fmt.Sprintf("BEGIN; INSERT INTO ok VALUES (-1); PREPARE TRANSACTION '%s'", gid))
			t.Cleanup(func() { _ = c.Exec(ctx, db, fmt.Sprintf("ROLLBACK PREPARED '%s'", gid)) })
			long, err := c.Connect(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer long.Close(ctx)
			if _, err := long.Exec(ctx, "BEGIN; SELECT txid_current();"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)

			res := run(t, connect(t, c, db, "source"), nil, Options{LongTransaction: 10 * time.Millisecond})
			t.Logf("findings:\n%s", dump(res))
			if !res.Failed() {
				t.Fatal("broken database passed preflight")
			}
			want := []struct {
				code, sub string
				sev       Severity
				objects   []string
			}{
				{"PF004", "", Critical, []string{"public.no_identity", "public.ident_nothing"}},
				{"PF005", "", Critical, []string{"public.full_point"}},
				{"PF006", "", Warning, []string{"public.no_identity", "public.full_point"}},
				{"PF007", "", Critical, []string{"public.scratch"}},
				{"PF008", "", Critical, nil},
				{"PF009", "", Warning, []string{"public.totals"}},
				{"PF010", "", Warning, []string{"public.remote"}},
				{"PF011", "", Warning, []string{"public.parted"}},
				{"PF013", "inactive", Warning, []string{slotName}},
				{"PF014", "", Warning, []string{fmt.Sprintf("pid %d", long.PgConn().PID())}},
				{"PF015", "", Warning, []string{gid}},
				{"PF016", "", Warning, []string{"public.drift"}},
				{"PF017", "unqualified", Critical, []string{"public.is_valid(integer)", "public.helper(integer)", "public.audit_fn()"}},
				{"PF017", "could not be checked", Warning, []string{"public.dyn_fn()"}},
				{"PF018", "", Warning, []string{"public.ok audited", "public.gen dyn"}},
				{"PF019", "", Info, []string{"public.gen.b"}},
				{"PF020", "", Warning, []string{"public.counter"}},
				{"PF025", "", Warning, []string{"CHECK constraint checked_v_check on public.checked"}},
			}
			for _, w := range want {
				f, ok := find(res, w.code, SideSource, w.sub)
				if !ok {
					t.Errorf("%s missing", w.code)
					continue
				}
				if f.Severity != w.sev {
					t.Errorf("%s severity %s, want %s", w.code, f.Severity, w.sev)
				}
				for _, o := range w.objects {
					if !hasObject(f, o) {
						t.Errorf("%s objects %v lack %s", w.code, f.Objects, o)
					}
				}
				if f.Remedy == "" || f.Detail == "" {
					t.Errorf("%s has no detail or remedy", w.code)
				}
			}
			if major >= 15 {
				if f, _ := find(res, "PF016", SideSource, ""); !hasObject(f, "database "+db) {
					t.Errorf("PF016 lacks the database collation drift: %v", f.Objects)
				}
			}
			// What is fine must not be reported.
			notObjects := map[string][]string{
				"PF004": {"public.ok", "public.full_point", "public.scratch", "public.parted_1"},
				"PF006": {"public.parted_1", "public.scratch", "public.ok"},
				"PF017": {"public.qualified(integer)", "public.pinned(integer)", "public.local_fn()"},
				"PF018": {"public.safe local_only"},
			}
			for code, objs := range notObjects {
				f, _ := find(res, code, "", "")
				for _, o := range objs {
					if hasObject(f, o) {
						t.Errorf("%s wrongly reports %s", code, o)
					}
				}
			}
			for _, code := range []string{"PF001", "PF002"} {
				if fs := byCode(res)[code]; len(fs) > 0 {
					t.Errorf("%s reported on a well-configured server: %v", code, fs)
				}
			}
			// --exclude removes the table from the table rules.
			res = run(t, connect(t, c, db, "source"), nil, Options{
				Selection:       catalog.Selection{Exclude: []string{"no_identity", "ident_*"}},
				Ignore:          []string{"PF014"},
				LongTransaction: 10 * time.Millisecond,
			})
			if f, ok := find(res, "PF004", "", ""); ok {
				t.Errorf("PF004 still reported with --exclude: %v", f.Objects)
			}
			if _, ok := find(res, "PF014", "", ""); ok || len(res.Ignored) != 1 {
				t.Errorf("PF014 not ignored (ignored %v)", res.Ignored)
			}
		})
	}
}

// pairs are the source → target majors the target rules are tested on;
// 16 → 17 covers pg_stat_subscription_stats and newer catalogs.
var pairs = [][2]int{{13, 16}, {16, 17}}

// newPair creates the same database on both clusters with the schema.
func newPair(t *testing.T, src, dst *pgcluster.Cluster, schema string) string {
	t.Helper()
	db := clusters.newDB(t, src, schema)
	if err := dst.CreateDB(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	exec(t, dst, db, schema)
	return db
}

func TestTargetCleanSubscription(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	for _, p := range pairs {
		t.Run(fmt.Sprintf("PG%d_to_PG%d", p[0], p[1]), func(t *testing.T) {
			src, dst := clusters.get(t, "main", p[0]), clusters.get(t, "main", p[1])
			db := newPair(t, src, dst, cleanSchema)
			exec(t, src, db, "INSERT INTO accounts SELECT g, 'a' || g, g FROM generate_series(1, 100) g")
			sub := "sub_" + db
			if err := pgcluster.Subscribe(ctx, src, dst, db, sub); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = dst.Exec(ctx, db, "DROP SUBSCRIPTION "+sub) })
			res := run(t, connect(t, src, db, "source"), connect(t, dst, db, "target"), Options{})
			if len(res.Findings) != 0 {
				t.Fatalf("healthy subscription has findings:\n%s", dump(res))
			}
			if res.Target == nil || res.Target.Major != p[1] {
				t.Fatalf("target %+v, want major %d", res.Target, p[1])
			}
		})
	}
}

func TestTargetBrokenSubscription(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	for _, p := range pairs {
		t.Run(fmt.Sprintf("PG%d_to_PG%d", p[0], p[1]), func(t *testing.T) {
			src, dst := clusters.get(t, "main", p[0]), clusters.get(t, "main", p[1])
			db := newPair(t, src, dst, "CREATE TABLE accounts (id int PRIMARY KEY, name text)")
			sub := "sub_" + db
			if err := pgcluster.Subscribe(ctx, src, dst, db, sub); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = dst.Exec(ctx, db, "DROP SUBSCRIPTION "+sub) })

			// PF022: a table whose initial copy keeps failing (the row is
			// already on the target) and one never added to the subscription.
			for _, c := range []*pgcluster.Cluster{src, dst} {
				exec(t, c, db, "CREATE TABLE stuck (id int PRIMARY KEY); INSERT INTO stuck VALUES (1)")
			}
			exec(t, dst, db, "ALTER SUBSCRIPTION "+sub+" REFRESH PUBLICATION")
			for _, c := range []*pgcluster.Cluster{src, dst} {
				exec(t, c, db, "CREATE TABLE late (id int PRIMARY KEY)")
			}
			// PF012: an extension the target cannot install, one at another
			// version, one not created in the target database.
			exec(t, src, db, `INSERT INTO pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion)
				VALUES (4000000000::oid, 'pgverify_missing', 10, 2200, false, '9.9');
				CREATE EXTENSION pg_trgm VERSION '1.4'; CREATE EXTENSION hstore`)
			exec(t, dst, db, "CREATE EXTENSION pg_trgm")
			// PF021 (15+ target): an apply error, a row the target already has.
			exec(t, dst, db, "INSERT INTO accounts VALUES (100, 'target only')")
			exec(t, src, db, "INSERT INTO accounts VALUES (100, 'source')")
			waitFor(t, dst, db, "SELECT coalesce(sum(apply_error_count), 0) > 0 FROM pg_stat_subscription_stats")
			// PF021: disabled; PF023: it lags (limit 1 byte below).
			exec(t, dst, db, "ALTER SUBSCRIPTION "+sub+" DISABLE")
			exec(t, dst, db, "DELETE FROM accounts WHERE id = 100")
			exec(t, src, db, "INSERT INTO accounts SELECT g, 'x' FROM generate_series(200, 300) g")
			// PF023: a subscription whose slot does not exist on the source.
			ghost := "ghost_" + db
			exec(t, dst, db, fmt.Sprintf("CREATE SUBSCRIPTION %s CONNECTION '%s' PUBLICATION %s WITH (connect = false, slot_name = 'no_such_slot')",
				ghost, src.ConnInfo(db), sub))
			t.Cleanup(func() {
				_ = dst.Exec(ctx, db, "ALTER SUBSCRIPTION "+ghost+" SET (slot_name = NONE); DROP SUBSCRIPTION "+ghost)
			})

			res := run(t, connect(t, src, db, "source"), connect(t, dst, db, "target"), Options{MaxSlotLag: 1})
			t.Logf("findings:\n%s", dump(res))
			want := []struct {
				code, side, title string
				sev               Severity
				objects           []string
			}{
				{"PF012", SideTarget, "missing", Critical, []string{"pgverify_missing 9.9"}},
				{"PF012", SideTarget, "other versions", Warning, []string{"pg_trgm 1.4"}},
				{"PF012", SideTarget, "not created", Warning, []string{"hstore"}},
				{"PF021", SideTarget, "disabled", Critical, []string{sub, ghost}},
				{"PF021", SideTarget, "errors", Warning, []string{sub}},
				{"PF022", SideTarget, "not ready", Critical, []string{"public.stuck"}},
				{"PF022", SideTarget, "missing from the subscription", Critical, []string{"public.late"}},
				{"PF023", SideSource, "lags", Warning, []string{sub}},
				{"PF023", SideSource, "slot missing", Blocker, []string{"no_such_slot"}},
			}
			for _, w := range want {
				var matched []Finding
				for _, f := range res.Findings {
					if f.Code == w.code && f.Side == w.side && strings.Contains(f.Title, w.title) {
						matched = append(matched, f)
					}
				}
				if len(matched) == 0 {
					t.Errorf("%s %q missing", w.code, w.title)
					continue
				}
				for _, o := range w.objects {
					found := false
					for _, f := range matched {
						for _, fo := range f.Objects {
							found = found || fo == o || strings.HasPrefix(fo, o+" ")
						}
						if f.Severity != w.sev {
							t.Errorf("%s %q severity %s, want %s", w.code, w.title, f.Severity, w.sev)
						}
					}
					if !found {
						t.Errorf("%s %q lacks object %s", w.code, w.title, o)
					}
				}
			}
			if f, ok := find(res, "PF013", "", ""); ok {
				t.Errorf("PF013 reports the subscription's own slots: %v", f.Objects)
			}
			if !res.Failed() {
				t.Fatal("broken subscription passed preflight")
			}
		})
	}
}

// TestWeakServerAndLostSlot runs the settings rules against a server with
// wal_level = replica and no spare capacity, and the invalidated-slot rule
// against a slot that lost its WAL (invalidation_reason on 17).
func TestWeakServerAndLostSlot(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	for _, major := range majors {
		t.Run(fmt.Sprintf("PG%d", major), func(t *testing.T) {
			weak := clusters.get(t, "weak", major)
			db := clusters.newDB(t, weak, "CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE filler (v text)")
			// The server's one slot, then enough WAL to lose it.
			exec(t, weak, db, "SELECT pg_create_physical_replication_slot('lossy', true)")
			t.Cleanup(func() { _ = weak.Exec(ctx, db, "SELECT pg_drop_replication_slot('lossy')") })
			for i := 0; i < 20; i++ {
				exec(t, weak, db, "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 3000); SELECT pg_switch_wal(); CHECKPOINT")
				var status string
				conn := connect(t, weak, db, "check")
				if err := conn.QueryRow(ctx, "SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = 'lossy'").Scan(&status); err != nil {
					t.Fatal(err)
				}
				if status == "lost" {
					break
				}
			}

			res := run(t, connect(t, weak, db, "source"), connect(t, weak, db, "target"), Options{})
			t.Logf("findings:\n%s", dump(res))
			for _, w := range []struct{ code, side, object string }{
				{"PF001", SideSource, "wal_level"},
				{"PF002", SideSource, "max_replication_slots"},
				{"PF002", SideSource, "max_wal_senders"},
				{"PF003", SideTarget, "max_logical_replication_workers"},
			} {
				ok := false
				for _, f := range byCode(res)[w.code] {
					ok = ok || (f.Severity == Blocker && f.Side == w.side && hasObject(f, w.object))
				}
				if !ok {
					t.Errorf("no %s blocker for %s", w.code, w.object)
				}
			}
			// The inactive physical slot is reported too.
			if f, ok := find(res, "PF013", SideSource, "inactive"); !ok || !hasObject(f, "lossy") {
				t.Errorf("PF013 does not report the inactive slot")
			}

			// A subscription on a healthy target that streams from the lost slot.
			dst := clusters.get(t, "main", 16)
			tdb := clusters.newDB(t, dst, "")
			ghost := "lossy_" + tdb
			exec(t, dst, tdb, fmt.Sprintf("CREATE SUBSCRIPTION %s CONNECTION '%s' PUBLICATION p WITH (connect = false, slot_name = 'lossy')",
				ghost, weak.ConnInfo(db)))
			t.Cleanup(func() {
				_ = dst.Exec(ctx, tdb, "ALTER SUBSCRIPTION "+ghost+" SET (slot_name = NONE); DROP SUBSCRIPTION "+ghost)
			})
			res = run(t, connect(t, weak, db, "source"), connect(t, dst, tdb, "target"), Options{})
			f, ok := find(res, "PF024", SideSource, "")
			if !ok || f.Severity != Blocker || !hasObject(f, "lossy") {
				t.Fatalf("PF024 not reported for the lost slot:\n%s", dump(res))
			}
			wantWhy := "wal_status lost"
			if major >= 17 {
				wantWhy = "invalidation_reason wal_removed"
			}
			if !strings.Contains(f.Detail, wantWhy) {
				t.Errorf("PF024 detail %q lacks %q", f.Detail, wantWhy)
			}
		})
	}
}

// waitFor polls a boolean query until it is true (at most 30 s).
func waitFor(t *testing.T, c *pgcluster.Cluster, db, q string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := c.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var ok bool
		if err := conn.QueryRow(ctx, q).Scan(&ok); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for: %s", q)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestTargetPG13WithoutSuperuser: on PG 13 only superusers may read
// pg_subscription.oid; a plain role still gets the subscription rules (the
// database's only subscription owns every pg_subscription_rel row).
func TestTargetPG13WithoutSuperuser(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, dst := clusters.get(t, "main", 16), clusters.get(t, "main", 13)
	db := newPair(t, src, dst, "CREATE TABLE accounts (id int PRIMARY KEY, name text)")
	sub := "sub_" + db
	if err := pgcluster.Subscribe(ctx, src, dst, db, sub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dst.Exec(ctx, db, "DROP SUBSCRIPTION "+sub) })
	role := "reader_" + db
	exec(t, dst, db, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'pw'", role))
	readerDSN := fmt.Sprintf("postgres://%s:pw@127.0.0.1:%d/%s?sslmode=disable", role, dst.Port, db)
	reader, err := dbconn.Connect(ctx, readerDSN, dbconn.Options{Role: "target", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(ctx)

	res := run(t, connect(t, src, db, "source"), reader, Options{})
	if len(res.Findings) != 0 {
		t.Fatalf("healthy subscription, plain role on PG 13: findings\n%s", dump(res))
	}
	for _, c := range []*pgcluster.Cluster{src, dst} {
		exec(t, c, db, "CREATE TABLE stuck (id int PRIMARY KEY); INSERT INTO stuck VALUES (1)")
	}
	exec(t, dst, db, "ALTER SUBSCRIPTION "+sub+" REFRESH PUBLICATION")
	exec(t, dst, db, "ALTER SUBSCRIPTION "+sub+" DISABLE")
	res = run(t, connect(t, src, db, "source"), reader, Options{})
	t.Logf("findings:\n%s", dump(res))
	if f, ok := find(res, "PF021", SideTarget, "disabled"); !ok || !hasObject(f, sub) {
		t.Error("PF021 disabled subscription not found")
	}
	if f, ok := find(res, "PF022", SideTarget, "not ready"); !ok || !hasObject(f, "public.stuck") {
		t.Error("PF022 table not ready not found")
	}
	if f, ok := find(res, codeNotChecked, "", ""); ok {
		t.Errorf("checks could not run: %s", f.Detail)
	}
}
