package report

import (
	"fmt"
	"io"

	"strings"
	"time"

	"github.com/pgverify/pgverify/failover"
)

// SwitchJSON is the JSON document of `pgverify switch` (documented in
// docs/switch.md; fields are only ever added).
type SwitchJSON struct {
	Source        string                  `json:"source"`
	Target        string                  `json:"target"`
	SourceVersion string                  `json:"source_version"`
	TargetVersion string                  `json:"target_version"`
	Subscriptions []string                `json:"subscriptions"`
	Steps         []SwitchStepJSON        `json:"steps"`
	Proxies       []*failover.ProxyResult `json:"proxies"`
	Acks          []failover.Ack          `json:"acks"`
	Writers       []failover.Writer       `json:"writers"`
	StrayWrites   []failover.Writer       `json:"stray_writes"`
	Reverse       string                  `json:"reverse_subscription,omitempty"`
	SwitchBack    string                  `json:"switch_back,omitempty"`
	Summary       SwitchSummaryJSON       `json:"summary"`
}

// SwitchStepJSON is one timed step.
type SwitchStepJSON struct {
	Name       string  `json:"name"`
	Phase      string  `json:"phase"`
	Status     string  `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	Detail     string  `json:"detail,omitempty"`
}

// SwitchSummaryJSON is the switch's summary; verdict is the outcome.
type SwitchSummaryJSON struct {
	Outcome
	FailedStep      string             `json:"failed_step,omitempty"`
	Reason          string             `json:"reason,omitempty"`
	PauseMS         float64            `json:"pause_ms"`
	PauseStepsMS    map[string]float64 `json:"pause_steps_ms"`
	SequencesSynced int                `json:"sequences_synced"`
	DurationMS      float64            `json:"duration_ms"`
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// SwitchVerdict is the verdict word of a switch result.
func SwitchVerdict(r *failover.Result) string { return r.Outcome }

// SwitchDocument builds the JSON document.
func SwitchDocument(r *failover.Result) SwitchJSON {
	doc := SwitchJSON{Source: r.Source, Target: r.Target, SourceVersion: r.SourceVersion, TargetVersion: r.TargetVersion,
		Subscriptions: r.Subscriptions, Proxies: r.Proxies, Writers: r.Writers, StrayWrites: r.StrayWrites,
		Reverse: r.Reverse, SwitchBack: r.SwitchBack}
	doc.Acks = r.Acks
	if doc.Acks == nil {
		doc.Acks = []failover.Ack{}
	}
	if doc.Writers == nil {
		doc.Writers = []failover.Writer{}
	}
	if doc.StrayWrites == nil {
		doc.StrayWrites = []failover.Writer{}
	}
	steps := map[string]float64{}
	for _, s := range r.Steps {
		doc.Steps = append(doc.Steps, SwitchStepJSON{Name: s.Name, Phase: s.Phase, Status: s.Status, DurationMS: msf(s.Duration), Detail: s.Detail})
		if s.Phase == failover.PhasePause {
			steps[s.Name] += msf(s.Duration)
		}
	}
	doc.Summary = SwitchSummaryJSON{Outcome: NewOutcome(SwitchVerdict(r)), FailedStep: r.FailedStep, Reason: r.Reason,
		PauseMS: msf(r.Pause), PauseStepsMS: steps, SequencesSynced: r.SequencesSet, DurationMS: msf(r.Duration)}
	return doc
}

// Switch renders a switch result.
func Switch(w io.Writer, f Format, r *failover.Result) error {
	if f == JSON {
		return writeJSON(w, SwitchDocument(r))
	}
	rows := make([][]any, len(r.Steps))
	for i, s := range r.Steps {
		rows[i] = []any{s.Phase, s.Name, s.Status, fmtDur(s.Duration), s.Detail}
	}
	if err := Table(w, []any{"PHASE", "STEP", "STATUS", "TIME", "DETAIL"}, rows); err != nil {
		return err
	}
	var b strings.Builder
	for _, p := range r.Proxies {
		state := "on the source"
		if p.Switched && p.Switch != nil {
			state = fmt.Sprintf("switched: %d session(s) moved, %d closed, %d failed", p.Switch.Moved, p.Switch.Closed, p.Switch.Failed)
		}
		var acks []string
		for _, a := range r.Acks {
			if a.Member == p.Name {
				s := fmt.Sprintf("%s %s", a.Phase, fmtDur(a.Took))
				if a.Error != "" {
					s += " FAILED"
				}
				acks = append(acks, s)
			}
		}
		ackText := ""
		if len(acks) > 0 {
			ackText = " (acknowledged: " + strings.Join(acks, ", ") + ")"
		}
		label := p.Name
		if !strings.Contains(label, " ") {
			label = "proxy " + label // a proxy's name is its admin address; other drivers name their kind
		}
		fmt.Fprintf(&b, "\n%s: %s%s\n", Clean(label), state, ackText)
		for _, c := range p.Terminated {
			fmt.Fprintf(&b, "  terminated after the grace: client %s (%s@%s from %s, application_name \"%s\"), backend pid %d\n",
				Clean(c.ID), Clean(c.User), Clean(c.Database), Clean(c.Addr), Clean(c.ApplicationName), c.BackendPID)
		}
	}
	writers := func(title string, ws []failover.Writer) {
		if len(ws) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, x := range ws {
			fmt.Fprintf(&b, "  %s  xid %s  %s\n", Clean(x.String()), Clean(x.XID), Clean(x.Query))
		}
	}
	writers("sessions writing to the source outside the proxies", r.Writers)
	writers("WRITES ON THE OLD CLUSTER AFTER THE SWITCH", r.StrayWrites)

	var shares []string
	var names []string
	sum := map[string]time.Duration{}
	for _, s := range r.Steps {
		if s.Phase == failover.PhasePause {
			if _, ok := sum[s.Name]; !ok {
				names = append(names, s.Name)
			}
			sum[s.Name] += s.Duration
		}
	}
	for _, n := range names {
		shares = append(shares, fmt.Sprintf("%s %s", n, fmtDur(sum[n])))
	}
	held := ""
	if r.Pause > 0 {
		held = fmt.Sprintf(", writes held %s (%s)", fmtDur(r.Pause), strings.Join(shares, ", "))
	}
	vers := fmt.Sprintf("source %s, target %s", Clean(r.SourceVersion), Clean(r.TargetVersion))
	switch r.Outcome {
	case failover.OutcomeSwitched:
		fmt.Fprintf(&b, "\nswitched: every member now on the target (%s%s)\n", vers, held)
	case failover.OutcomeStray:
		fmt.Fprintf(&b, "\nstray_writes: switched, but %d session(s) wrote to the old cluster afterwards (%s%s)\n", len(r.StrayWrites), vers, held)
	case failover.OutcomeReady:
		fmt.Fprintf(&b, "\nready: every check before the pause passed; nothing was paused (--dry-run; %s)\n", vers)
	case failover.OutcomeAborted:
		fmt.Fprintf(&b, "\naborted at %s: %s; nothing was paused (%s)\n", Clean(r.FailedStep), Clean(r.Reason), vers)
	default:
		fmt.Fprintf(&b, "\nrolled_back at %s: %s; every member resumed on the source, nothing was lost (%s%s)\n", Clean(r.FailedStep), Clean(r.Reason), vers, held)
	}
	if r.SwitchBack != "" && (r.Outcome == failover.OutcomeSwitched || r.Outcome == failover.OutcomeStray) {
		fmt.Fprintf(&b, "to switch back: %s\n", Clean(r.SwitchBack))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
