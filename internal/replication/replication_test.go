package replication

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

func TestDetectAndWait(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Postgres")
	}
	ctx := context.Background()
	src, err := pgcluster.Start(ctx, pgcluster.Options{Major: 13, Name: "repl-src"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Stop()
	dst, err := pgcluster.Start(ctx, pgcluster.Options{Major: 16, Name: "repl-dst"})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Stop()
	for _, c := range []*pgcluster.Cluster{src, dst} {
		if err := c.CreateDB(ctx, "app"); err != nil {
			t.Fatal(err)
		}
		if err := c.Exec(ctx, "app", "CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := src.Connect(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close(ctx)
	tc, err := dst.Connect(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close(ctx)

	if l, err := Detect(ctx, sc, tc); err != nil || l != nil {
		t.Fatalf("no subscription yet: got %v, %v", l, err)
	}
	if err := pgcluster.Subscribe(ctx, src, dst, "app", "repl_test"); err != nil {
		t.Fatal(err)
	}
	l, err := Detect(ctx, sc, tc)
	if err != nil || l == nil {
		t.Fatalf("detect: %v, %v", l, err)
	}
	if len(l.Slots) != 1 || l.Slots[0] != "repl_test" || l.Subscriptions[0] != "repl_test" {
		t.Fatalf("link %+v", l)
	}
	if got := l.String(); got != "target subscription repl_test via source slot repl_test" {
		t.Errorf("String() = %q", got)
	}

	// A committed insert is applied once the slot confirms the insert LSN.
	if _, err := sc.Exec(ctx, "SET synchronous_commit = off; INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	lsn, err := CurrentLSN(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := l.WaitFor(ctx, sc, lsn, 30*time.Second)
	if err != nil || !ok {
		t.Fatalf("wait: %v %v", ok, err)
	}
	var n int
	if err := tc.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after catch-up the target has %d rows (%v), want 1", n, err)
	}

	// A position past the flushed WAL (here: just past the insert position,
	// as an unflushed tail without commits would be while the walwriter
	// hibernates) cannot be confirmed until something flushes; the wait must
	// end anyway once the current flush position is confirmed.
	lsn, _ = CurrentLSN(ctx, sc)
	var hi, lo uint64
	if _, err := fmt.Sscanf(lsn, "%X/%X", &hi, &lo); err != nil {
		t.Fatal(err)
	}
	past := fmt.Sprintf("%X/%X", hi, lo+64)
	t0 := time.Now()
	ok, err = l.WaitFor(ctx, sc, past, 20*time.Second)
	if err != nil || !ok {
		t.Fatalf("wait for %s past the flushed WAL: %v %v", past, ok, err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("waiting past an unflushed tail took %s", d)
	}

	// With the subscription disabled, a new position is never confirmed:
	// WaitFor times out and Behind names the slot.
	if _, err := tc.Exec(ctx, "ALTER SUBSCRIPTION repl_test DISABLE"); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	lsn, _ = CurrentLSN(ctx, sc)
	ok, err = l.WaitFor(ctx, sc, lsn, 700*time.Millisecond)
	if err != nil || ok {
		t.Fatalf("disabled subscription: wait returned %v, %v; want a timeout", ok, err)
	}
	behind, err := Behind(ctx, sc, []string{"repl_test", "no_such_slot"}, lsn)
	if err != nil || len(behind) != 2 {
		t.Fatalf("behind = %v, %v; want both slots", behind, err)
	}
	if l.Waited() < 700*time.Millisecond {
		t.Errorf("Waited() = %s", l.Waited())
	}
	// A disabled subscription is no live link.
	if l, err := Detect(ctx, sc, tc); err != nil || l != nil {
		t.Fatalf("disabled subscription detected as live: %v %v", l, err)
	}
}
