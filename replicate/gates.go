package replicate

import (
	"context"
	"fmt"
	"time"

	"github.com/pgverify/pgverify/checksum"
	"github.com/pgverify/pgverify/sampler"
	"github.com/pgverify/pgverify/sequences"
	"github.com/pgverify/pgverify/watermark"
)

// stepVerify runs the verification gates once the target has caught up.
func (r *run) stepVerify(ctx context.Context) (StepStatus, string, error) {
	if r.opts.Plan || r.tgt == nil || r.subOID == 0 {
		return StepPlanned, fmt.Sprintf("gates: %d watermark(s), %s, sequences", len(r.opts.Watermarks), r.opts.Verify), nil
	}
	ran := 0
	if len(r.opts.Watermarks) > 0 {
		ran++
		t0 := time.Now()
		res, err := watermark.Run(ctx, r.src, r.tgt, watermark.Options{Checks: r.opts.Watermarks, Timeout: 5 * time.Minute})
		if err != nil {
			r.gate("watermark", t0, Error, err.Error())
		} else {
			s := res.Summary()
			var details []string
			for _, t := range res.Tables {
				if t.Status != watermark.Match {
					details = append(details, fmt.Sprintf("%s (%s): %s: %s", t.Table, t.Column, t.Status, t.Detail))
				}
			}
			v := Pass
			switch {
			case s.Mismatch > 0:
				v = Fail
			case s.Timeout+s.Error > 0:
				v = Error
			}
			r.gate("watermark", t0, v, fmt.Sprintf("%d of %d table(s) hold every row below the watermark", s.Match, s.Total), details...)
		}
	}
	so, to := r.opts.SourceConn, r.opts.TargetConn
	so.ReadOnly, to.ReadOnly = true, true
	switch r.opts.Verify {
	case VerifyTables:
		ran++
		t0 := time.Now()
		res, err := checksum.Run(ctx, checksum.Options{SourceDSN: r.opts.SourceDSN, TargetDSN: r.opts.TargetDSN,
			SourceConn: so, TargetConn: to, Selection: r.opts.Selection, Rechecks: 3})
		if err != nil {
			r.gate("tables", t0, Error, err.Error())
			break
		}
		s := res.Summary
		var details []string
		for _, t := range res.Tables {
			if t.Status != checksum.StatusMatch {
				line := fmt.Sprintf("%s: %s, %d difference(s)", t.Table, t.Status, t.DifferenceCount)
				if t.Error != "" {
					line += ": " + t.Error
				}
				details = append(details, line)
			}
		}
		v := map[string]Verdict{checksum.VerdictEqual: Pass, checksum.VerdictDifferent: Fail}[s.Verdict]
		if v == "" {
			v = Error
		}
		r.gate("tables", t0, v, fmt.Sprintf("%s: %d of %d table(s) match, %d row(s) on the source, %d on the target, %d difference(s)",
			s.Verdict, s.Match, s.Tables, s.RowsSource, s.RowsTarget, s.Differences), details...)
	case VerifySample:
		ran++
		t0 := time.Now()
		res, err := sampler.Run(ctx, sampler.Options{SourceDSN: r.opts.SourceDSN, TargetDSN: r.opts.TargetDSN,
			SourceConn: so, TargetConn: to, Selection: r.opts.Selection, Rechecks: 3})
		if err != nil {
			r.gate("sample", t0, Error, err.Error())
			break
		}
		s := res.Summary
		v := Pass
		switch {
		case res.HasDifferences():
			v = Fail
		case res.Incomplete():
			v = Error
		}
		summary := fmt.Sprintf("%d of %d sampled row(s) differ in %d table(s)", s.Differing, s.Sampled, s.Tables)
		if s.UpperBound != nil && *s.UpperBound == 0 {
			summary += ": the sample covered every row"
		} else if s.UpperBound != nil {
			summary += fmt.Sprintf(": with 95%% confidence fewer than %.4g%% of rows differ", *s.UpperBound*100)
		}
		r.gate("sample", t0, v, summary)
	}
	// Sequences are not replicated: they are synced at the switch
	// (pgverify sequences --sync), so here they are a report, not a gate
	// that fails. All sequences are listed: --table selects tables, and a
	// sequence may serve tables inside and outside the selection.
	t0 := time.Now()
	sq, err := sequences.Compare(ctx, r.src, r.tgt, sequences.Options{})
	if err != nil {
		r.gate("sequences", t0, Error, err.Error())
	} else {
		s := sq.Summary()
		var details []string
		for _, q := range sq.Sequences {
			if q.Status != sequences.Safe {
				details = append(details, fmt.Sprintf("%s: %s", q.Display, q.Status))
			}
		}
		r.gate("sequences", t0, Pass, fmt.Sprintf("report only: %d sequence(s), %d behind the source (expected before the switch: run pgverify sequences --sync then)", s.Total, s.Findings()), details...)
	}
	ran++
	return StepDone, fmt.Sprintf("%d gate(s) run", ran), nil
}

func (r *run) stepAnalyze(ctx context.Context) (StepStatus, string, error) {
	if !r.opts.Analyze {
		return StepSkipped, "--analyze=false", nil
	}
	if r.opts.Plan || r.tgt == nil {
		return StepPlanned, "ANALYZE the target database", nil
	}
	if r.res.Failed() {
		return StepSkipped, "a gate failed", nil
	}
	if _, err := r.tgt.Exec(ctx, "SET statement_timeout = 0"); err != nil {
		return StepFailed, "", err
	}
	if _, err := r.tgt.Exec(ctx, "ANALYZE"); err != nil {
		return StepFailed, "", fmt.Errorf("target: ANALYZE: %w", err)
	}
	return StepDone, "ANALYZE of the target database", nil
}
