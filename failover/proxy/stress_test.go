package proxy

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

// TestSwitchStress switches one proxy back and forth between PG 13 and PG 16
// under pgbench load in each query mode. A session the switch loses hangs
// its pgbench client: pgbench must finish on time with no failed
// transaction, and every transaction it counted is on one of the two.
// PGVERIFY_SWITCH_STRESS=N sets the switch count (default 8).
//
// It catches a lost session in a few switches: pgconn keeps a background
// read in flight after a slow login write unless SyncConn runs before
// Hijack, and that read ate the backend's first reply.
func TestSwitchStress(t *testing.T) {
	needPG(t, 13, 16)
	pgbenchPath(t)
	n := 8
	if v, err := strconv.Atoi(os.Getenv("PGVERIFY_SWITCH_STRESS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	c13, c16 := clusters.Get(t, 13), clusters.Get(t, 16)
	for _, mode := range []string{"extended", "prepared", "simple"} {
		t.Run(mode, func(t *testing.T) {
			db := clusters.NewDB(t, c13, "stress")
			if err := c16.CreateDB(ctx, db); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*pgcluster.Cluster{c13, c16} {
				pgbenchInit(t, c, db)
			}
			r := startProxy(t, Config{Backend: c13.DSN(db), MaxClients: 64})
			secs := n/2 + 3
			bctx, cancel := context.WithTimeout(ctx, time.Duration(secs+30)*time.Second)
			defer cancel()
			done := make(chan benchResult, 1)
			go func() {
				done <- pgbenchCtx(t, bctx, r.addr, "", db, "-n", "-c", "16", "-j", "2", "-T", strconv.Itoa(secs), "-M", mode)
			}()
			dump := func() {
				for _, c := range r.Clients() {
					t.Logf("client %d: %s on %s pid %d", c.ID, c.State, c.Backend, c.BackendPID)
				}
			}
			time.Sleep(time.Second)
			targets := []string{c16.DSN(db), c13.DSN(db)}
			var pauses []time.Duration
			for i := 0; i < n; i++ {
				if i%2 == 1 {
					// Every other switch takes prewarmed backend sessions.
					if n, err := r.Prewarm(ctx, targets[i%2]); err != nil || n != 16 {
						t.Fatalf("prewarm: %d, %v", n, err)
					}
				}
				start := time.Now()
				pctx, pc := context.WithTimeout(ctx, 5*time.Second)
				err := r.Pause(pctx)
				pc()
				if err != nil {
					dump()
					cancel()
					<-done
					t.Fatalf("switch %d: %v", i, err)
				}
				rep, err := r.Switch(ctx, targets[i%2])
				r.Resume()
				pauses = append(pauses, time.Since(start))
				if err != nil {
					t.Fatalf("switch %d: %v", i, err)
				}
				if rep.Moved != 16 {
					t.Errorf("switch %d: %+v", i, rep)
				}
				time.Sleep(300 * time.Millisecond)
			}
			select {
			case br := <-done:
				if br.failed != 0 {
					t.Fatalf("%d failed transactions:\n%s", br.failed, br.out)
				}
				// Each transaction committed on exactly one of the two.
				var sum int
				for _, c := range []*pgcluster.Cluster{c13, c16} {
					k, _ := strconv.Atoi(queryString(t, connect(t, c.DSN(db)), "SELECT count(*)::text FROM pgbench_history"))
					sum += k
				}
				if sum != br.processed {
					t.Fatalf("pgbench_history holds %d rows on PG 13 and PG 16 together, pgbench counted %d transactions", sum, br.processed)
				}
				slices.Sort(pauses)
				t.Logf("%s: %d switches, %d transactions, 0 failed; pause median %s, max %s",
					mode, n, br.processed, pauses[len(pauses)/2].Round(time.Millisecond), pauses[len(pauses)-1].Round(time.Millisecond))
			case <-bctx.Done():
				dump()
				<-done
				t.Fatal("pgbench hung after a switch")
			}
		})
	}
}
