package preflight

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPF003WorkersHeldByOtherSubscriptions: PG 13 → 16. Three
// subscriptions of another database hold 3 of the target's 4 logical
// replication workers. The settings alone look sufficient (4 >= 1 apply +
// 2 sync), but PF003 counts the held workers and warns; creating the
// subscription then proves the stall: its apply worker takes the last
// worker and the tables never sync ("out of logical replication worker
// slots").
func TestPF003WorkersHeldByOtherSubscriptions(t *testing.T) {
	needPG(t)
	ctx := context.Background()
	src, dst := clusters.get(t, "main", 13), clusters.get(t, "workers", 16)

	// The other database and its three subscriptions (empty publications).
	oth := clusters.newDB(t, src, "")
	if err := dst.CreateDB(ctx, oth); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("%s_s%d", oth, i)
		exec(t, src, oth, "CREATE PUBLICATION "+name)
		exec(t, dst, oth, fmt.Sprintf("CREATE SUBSCRIPTION %s CONNECTION '%s' PUBLICATION %s", name, src.ConnInfo(oth), name))
		t.Cleanup(func() { _ = dst.Exec(ctx, oth, "DROP SUBSCRIPTION "+name) })
	}
	waitFor(t, dst, oth, "SELECT count(*) >= 3 FROM pg_stat_subscription WHERE pid IS NOT NULL")

	db := newPair(t, src, dst, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)")
	exec(t, src, db, "INSERT INTO a SELECT generate_series(1, 10); INSERT INTO b SELECT generate_series(1, 10)")
	res := run(t, connect(t, src, db, "source"), connect(t, dst, db, "target"), Options{})
	f, ok := find(res, "PF003", SideTarget, "used by other subscriptions")
	if !ok || f.Severity != Warning || !hasObject(f, oth+"_s1 in database "+oth+" (1 running)") ||
		!strings.Contains(f.Detail, "leaving 1") || !strings.Contains(f.Detail, "initial table sync stalls") {
		t.Fatalf("PF003 does not count the other subscriptions' workers:\n%s\n%+v", dump(res), f)
	}

	// The stall it predicts.
	sub := "sub_" + db
	exec(t, src, db, "CREATE PUBLICATION "+sub+" FOR ALL TABLES")
	exec(t, dst, db, fmt.Sprintf("CREATE SUBSCRIPTION %s CONNECTION '%s' PUBLICATION %s", sub, src.ConnInfo(db), sub))
	t.Cleanup(func() { _ = dst.Exec(ctx, db, "DROP SUBSCRIPTION "+sub) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(dst.LogFile())
		if strings.Contains(string(b), "out of logical replication worker slots") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the target never ran out of worker slots")
		}
		time.Sleep(200 * time.Millisecond)
	}
	conn := connect(t, dst, db, "check")
	var ready int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate = 'r'").Scan(&ready); err != nil {
		t.Fatal(err)
	}
	if ready != 0 {
		t.Errorf("%d tables synced although no worker was free", ready)
	}

	// With the others gone there is no PF003 about them.
	for i := 1; i <= 3; i++ {
		exec(t, dst, oth, fmt.Sprintf("DROP SUBSCRIPTION %s_s%d", oth, i))
	}
	res = run(t, connect(t, src, db, "source"), connect(t, dst, db, "target"), Options{})
	if f, ok := find(res, "PF003", SideTarget, ""); ok {
		t.Errorf("PF003 without other subscriptions: %+v", f)
	}
}
