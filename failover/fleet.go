package failover

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Member is one traffic controller a switch drives: a pgverify proxy, a
// PgBouncer (failover/pgbouncer), or an application's pool
// (failover/pgxswitch). Pause returns when none of its clients is inside a
// transaction (new ones are held); Switch points it at the new cluster
// while paused; Resume releases held work (committing a prepared switch).
type Member interface {
	Name() string
	Check(ctx context.Context) error
	Pause(ctx context.Context) error
	Switch(ctx context.Context, dsn string) error
	Resume(ctx context.Context) error
}

// Preparer is a member whose Switch only prepares: Resume commits it and
// Rollback discards it, releasing held work where it was.
type Preparer interface {
	Rollback(ctx context.Context) error
}

// Ack is one member's answer to one phase.
type Ack struct {
	Member string        `json:"member"`
	Phase  string        `json:"phase"`
	Took   time.Duration `json:"-"`
	TookMS float64       `json:"took_ms"`
	Error  string        `json:"error,omitempty"`
}

// Fleet runs each phase on every member at once; a phase succeeds only when
// every member acknowledged it in time. Until all have switched, any
// failure rolls the whole fleet back onto the source; no member is resumed
// on the target before every member has switched (no split brain).
type Fleet struct {
	Members []Member
	// Source is where a member that switched is pointed back to when the
	// fleet rolls back (members that only prepared just roll back).
	Source string

	mu       sync.Mutex
	acks     []Ack
	paused   map[int]bool
	switched map[int]bool
}

// Acks are every member's answers so far, in order.
func (f *Fleet) Acks() []Ack {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Ack(nil), f.acks...)
}

// PhaseError names the members that failed a phase.
type PhaseError struct {
	Phase  string
	Failed []Ack
}

func (e *PhaseError) Error() string {
	var parts []string
	for _, a := range e.Failed {
		parts = append(parts, a.Member+": "+a.Error)
	}
	return fmt.Sprintf("%s: %d member(s) failed: %s", e.Phase, len(e.Failed), strings.Join(parts, "; "))
}

// each runs fn on every member (or the given ones) in parallel.
func (f *Fleet) each(ctx context.Context, phase string, only map[int]bool, fn func(context.Context, Member) error) error {
	var wg sync.WaitGroup
	acks := make([]*Ack, len(f.Members))
	for i, m := range f.Members {
		if only != nil && !only[i] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			err := fn(ctx, m)
			a := &Ack{Member: m.Name(), Phase: phase, Took: time.Since(t0)}
			a.TookMS = float64(a.Took.Microseconds()) / 1000
			if err == nil && ctx.Err() != nil {
				err = ctx.Err() // answered, but after the deadline
			}
			if err != nil {
				a.Error = err.Error()
			}
			acks[i] = a
		}()
	}
	wg.Wait()
	var failed []Ack
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, a := range acks {
		if a == nil {
			continue
		}
		f.acks = append(f.acks, *a)
		if a.Error != "" {
			failed = append(failed, *a)
			continue
		}
		switch phase {
		case "pause":
			f.paused[i] = true
		case "switch":
			f.switched[i] = true
		}
	}
	if len(failed) > 0 {
		return &PhaseError{Phase: phase, Failed: failed}
	}
	return nil
}

// Check reaches every member; expect (when > 0) is the declared size.
func (f *Fleet) Check(ctx context.Context, expect int) error {
	f.mu.Lock()
	f.paused, f.switched = map[int]bool{}, map[int]bool{}
	f.mu.Unlock()
	if len(f.Members) == 0 {
		return errors.New("no traffic controller to switch: pass --proxy, --pgbouncer or --app")
	}
	if expect > 0 && len(f.Members) != expect {
		return fmt.Errorf("%d member(s) given, --expect %d", len(f.Members), expect)
	}
	seen := map[string]bool{}
	var names []string
	for _, m := range f.Members {
		if seen[m.Name()] {
			return fmt.Errorf("%s is given twice", m.Name())
		}
		seen[m.Name()] = true
		names = append(names, m.Name())
	}
	sort.Strings(names)
	return f.each(ctx, "check", nil, func(ctx context.Context, m Member) error { return m.Check(ctx) })
}

// Pause pauses every member within ctx; on any failure the fleet rolls
// back (everything paused is resumed) and the error says who failed.
func (f *Fleet) Pause(ctx context.Context) error {
	if err := f.each(ctx, "pause", nil, func(ctx context.Context, m Member) error { return m.Pause(ctx) }); err != nil {
		f.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return nil
}

// Switch points every member at dsn within ctx; on any failure the fleet
// rolls back onto the source.
func (f *Fleet) Switch(ctx context.Context, dsn string) error {
	if err := f.each(ctx, "switch", nil, func(ctx context.Context, m Member) error { return m.Switch(ctx, dsn) }); err != nil {
		f.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return nil
}

// Resume releases every member (onto the target, once all switched). There
// is no rollback after this point: a member that fails to resume is named,
// and the others are already serving the target.
func (f *Fleet) Resume(ctx context.Context) error {
	return f.each(ctx, "resume", nil, func(ctx context.Context, m Member) error { return m.Resume(ctx) })
}

// Rollback puts the fleet back on the source and releases it: members that
// switched are pointed back (or roll back a prepared switch), then every
// member is resumed. It is best effort and reports what failed.
func (f *Fleet) Rollback(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	f.mu.Lock()
	switched := map[int]bool{}
	for i := range f.switched {
		switched[i] = true
	}
	f.mu.Unlock()
	var errs []error
	if len(switched) > 0 {
		if err := f.each(ctx, "switch back", switched, func(ctx context.Context, m Member) error {
			if p, ok := m.(Preparer); ok {
				return p.Rollback(ctx) // discards the prepared switch and resumes
			}
			return m.Switch(ctx, f.Source)
		}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := f.each(ctx, "resume on source", nil, func(ctx context.Context, m Member) error {
		if p, ok := m.(Preparer); ok {
			if switched[f.index(m)] {
				return nil // its Rollback above resumed it
			}
			return p.Rollback(ctx)
		}
		return m.Resume(ctx)
	}); err != nil {
		errs = append(errs, err)
	}
	f.mu.Lock()
	f.switched, f.paused = map[int]bool{}, map[int]bool{}
	f.mu.Unlock()
	return errors.Join(errs...)
}

func (f *Fleet) index(m Member) int {
	for i, x := range f.Members {
		if x == m {
			return i
		}
	}
	return -1
}
