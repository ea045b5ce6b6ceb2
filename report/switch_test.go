package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgverify/pgverify/failover"
)

func switchFixture() *failover.Result {
	ms := time.Millisecond
	return &failover.Result{
		Source: "postgres://app@old:5432/app", Target: "postgres://app@new:5432/app", SourceVersion: "13.23", TargetVersion: "16.14",
		Subscriptions: []string{"app"},
		Proxies: []*failover.ProxyResult{{Name: "127.0.0.1:6433", Switched: true, Switch: &failover.SwitchInfo{Moved: 15, Closed: 1},
			Terminated: []failover.Client{{ID: "42", User: "app", Database: "app", Addr: "10.0.0.7:51234", ApplicationName: "report\x1b[2J", State: "in transaction", BackendPID: 4711}}}},
		Steps: []failover.Step{
			{Name: "link", Phase: failover.PhaseBefore, Status: failover.StepOK, Duration: 2 * ms, Detail: "1 subscription(s) enabled and streaming, every table ready"},
			{Name: "gate", Phase: failover.PhaseBefore, Status: failover.StepOK, Duration: 3200 * ms, Detail: "tables: 5 table(s) equal"},
			{Name: "pause", Phase: failover.PhasePause, Status: failover.StepOK, Duration: 2005 * ms, Detail: "1 proxy(ies) paused; 1 transaction(s) outlived the 2s grace and were terminated"},
			{Name: "fence", Phase: failover.PhasePause, Status: failover.StepOK, Duration: 3 * ms, Detail: "no other writer"},
			{Name: "catch-up", Phase: failover.PhasePause, Status: failover.StepOK, Duration: 41 * ms, Detail: "marker applied"},
			{Name: "switch", Phase: failover.PhasePause, Status: failover.StepOK, Duration: 38 * ms, Detail: "15 session(s) moved"},
			{Name: "resume", Phase: failover.PhasePause, Status: failover.StepOK, Duration: 300 * time.Microsecond},
			{Name: "stray-write watch", Phase: failover.PhaseAfter, Status: failover.StepOK, Duration: 2 * time.Second, Detail: "no session wrote"},
		},
		Acks: []failover.Ack{{Member: "127.0.0.1:6433", Phase: "pause", Took: 2005 * ms, TookMS: 2005},
			{Member: "127.0.0.1:6433", Phase: "switch", Took: 38 * ms, TookMS: 38},
			{Member: "127.0.0.1:6433", Phase: "resume", Took: 300 * time.Microsecond, TookMS: 0.3}},
		Outcome: failover.OutcomeSwitched, Pause: 2087 * ms, SequencesSet: 2, Reverse: failover.ReverseName,
		SwitchBack: "pgverify switch --source 'postgres://app@new:5432/app' --target 'postgres://app@old:5432/app' --proxy ...",
		Duration:   7 * time.Second,
	}
}

func rollbackFixture() *failover.Result {
	r := switchFixture()
	r.Proxies[0].Switched, r.Proxies[0].Switch, r.Proxies[0].Terminated = false, nil, nil
	r.Steps = append(r.Steps[:4:4], failover.Step{Name: "catch-up", Phase: failover.PhasePause, Status: failover.StepFailed, Duration: 1500 * time.Millisecond,
		Detail: "the pause ran out of time (--timeout 1.5s): subscription app has not applied the marker: context deadline exceeded"},
		failover.Step{Name: "rollback", Phase: failover.PhasePause, Status: failover.StepOK, Duration: time.Millisecond, Detail: "every proxy resumed on the source"})
	r.Outcome, r.FailedStep, r.Reason = failover.OutcomeRolledBack, "catch-up", r.Steps[4].Detail
	r.Writers = []failover.Writer{{PID: 999, User: "batch", ApplicationName: "cron", ClientAddr: "10.0.0.9", XID: "5521", State: "idle in transaction", Query: "UPDATE t SET x = 1"}}
	r.Reverse, r.SwitchBack = "", ""
	return r
}

func TestSwitchReportGolden(t *testing.T) {
	for name, r := range map[string]*failover.Result{"switch": switchFixture(), "switch_rollback": rollbackFixture()} {
		for _, f := range []Format{Text, JSON} {
			var b bytes.Buffer
			if err := Switch(&b, f, r); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name+"."+string(f), b.Bytes())
		}
	}
}

func TestSwitchVerdicts(t *testing.T) {
	for verdict, code := range map[string]int{"switched": 0, "ready": 0, "aborted": 1, "rolled_back": 1, "stray_writes": 1} {
		if got := NewOutcome(verdict).ExitCode; got != code {
			t.Errorf("%s: exit %d, want %d", verdict, got, code)
		}
	}
}
