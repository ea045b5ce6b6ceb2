package replicate

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

// bigSchema has a table large enough that its initial copy takes seconds,
// next to small ones that are ready long before it.
const bigSchema = `
CREATE TABLE public.big (id bigint PRIMARY KEY, pad text NOT NULL);
INSERT INTO public.big SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 1500000) g;
CREATE TABLE public.small1 (id int PRIMARY KEY, v text);
INSERT INTO public.small1 SELECT g, 'x' || g FROM generate_series(1, 100) g;
CREATE TABLE public.small2 (id int PRIMARY KEY, v text);
INSERT INTO public.small2 SELECT g, 'y' || g FROM generate_series(1, 100) g;
ANALYZE;
`

// onCopy calls fn once, when public.big is being copied.
type onCopy struct {
	fn    func()
	fired bool
	ready []string // tables ready when fn fired
}

func (p *onCopy) Sync(s SyncSnapshot) {
	if p.fired {
		return
	}
	for _, t := range s.Tables {
		if t.Table == "public.big" && !t.Done && t.RowsCopied > 0 {
			p.fired = true
			for _, u := range s.Tables {
				if u.Done {
					p.ready = append(p.ready, u.Table)
				}
			}
			p.fn()
			return
		}
	}
}

func checkResumed(t *testing.T, res *Result, err error, readyBefore []string) {
	t.Helper()
	requirePass(t, res, err)
	for _, name := range []string{"target database", "schema", "publication", "subscription"} {
		if s := step(res, name); s == nil || s.Status != StepSkipped {
			t.Errorf("resume: step %s recreated: %+v", name, s)
		}
	}
	for _, tb := range res.Tables {
		for _, r := range readyBefore {
			if tb.Table == r && !tb.AlreadyReady {
				t.Errorf("resume: %s was ready before the interruption but copied again", r)
			}
		}
	}
	if g := gate(res, "tables"); g == nil || g.Verdict != Pass || !strings.Contains(g.Summary, " 0 difference(s)") {
		t.Errorf("tables gate: %+v", g)
	}
}

func TestResumeAfterCancel(t *testing.T) {
	src, dst, db := pair(t, 16)
	mustExec(t, src, db, bigSchema)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &onCopy{fn: cancel}
	opts := baseOpts(src, dst, db)
	opts.Progress = p
	t0 := time.Now()
	res, err := Run(ctx, opts)
	logResult(t, res)
	if !p.fired {
		t.Fatalf("the copy of public.big was never seen in progress (run took %s): %v", time.Since(t0), err)
	}
	var re *RunError
	if !errors.As(err, &re) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want a canceled RunError, got %v", err)
	}
	t.Logf("interrupted after %s: %v", time.Since(t0).Round(time.Millisecond), err)
	if len(re.Created) == 0 || !strings.Contains(err.Error(), "subscription") {
		t.Errorf("the error should say what was created: %v", err)
	}

	opts.Progress = nil
	t1 := time.Now()
	res, err = Run(context.Background(), opts)
	checkResumed(t, res, err, p.ready)
	t.Logf("resumed run %s; ready before: %v", time.Since(t1).Round(time.Millisecond), p.ready)
}

// restart restarts a test cluster's server (pg_ctl restart keeps its port).
func restart(t *testing.T, c *pgcluster.Cluster) {
	t.Helper()
	cmd := exec.Command(filepath.Join(c.BinDir, "pg_ctl"), "-D", c.DataDir(), "-l", c.LogFile(), "-m", "fast", "-w", "-t", "60", "restart")
	cmd.Dir = c.Dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl restart: %v\n%s", err, out)
	}
}

func TestResumeAfterTargetRestart(t *testing.T) {
	src, dst, db := pair(t, 16)
	mustExec(t, src, db, bigSchema)
	p := &onCopy{}
	p.fn = func() { restart(t, dst) }
	opts := baseOpts(src, dst, db)
	opts.Progress = p
	res, err := Run(context.Background(), opts)
	logResult(t, res)
	if !p.fired {
		t.Fatalf("the copy of public.big was never seen in progress: %v", err)
	}
	if err == nil {
		t.Fatal("want the run to stop when the target restarts")
	}
	t.Logf("stopped by the restart: %v", err)
	opts.Progress = nil
	res, err = Run(context.Background(), opts)
	checkResumed(t, res, err, p.ready)
}

// --sync-timeout bounds the initial sync: a gate failure (exit 1) naming
// the tables not ready; the next run picks up the copy where it is.
func TestSyncTimeout(t *testing.T) {
	src, dst, db := pair(t, 16)
	mustExec(t, src, db, bigSchema)
	opts := baseOpts(src, dst, db)
	opts.SyncTimeout = 300 * time.Millisecond
	res, err := Run(context.Background(), opts)
	logResult(t, res)
	if err != nil {
		t.Fatal(err)
	}
	g := gate(res, "initial sync")
	if g == nil || g.Verdict != Fail || !strings.Contains(g.Summary, "public.big") || !strings.Contains(g.Summary, "--sync-timeout 300ms") {
		t.Fatalf("initial sync gate: %+v", g)
	}
	opts.SyncTimeout = 3 * time.Minute
	res, err = Run(context.Background(), opts)
	requirePass(t, res, err)
}
