package report

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// IsTerminal reports whether w is a terminal (progress goes only there).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Progress draws a one-line progress bar with rows/s and ETA. It is safe for
// concurrent use and redraws at most five times a second.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	label   string
	total   int64
	done    int64
	start   time.Time
	last    time.Time
	drawn   bool
	enabled bool
}

// NewProgress returns a bar that draws on w only when w is a terminal.
func NewProgress(w io.Writer, label string) *Progress {
	return &Progress{w: w, label: label, enabled: IsTerminal(w)}
}

// Start sets the expected total.
func (p *Progress) Start(_ int, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.start = total, time.Now()
}

// Advance adds rows done.
func (p *Progress) Advance(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if !p.enabled || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *Progress) draw() {
	el := time.Since(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.done) / el
	}
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(p.done)/float64(p.total), 1)
	}
	const width = 30
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	eta := "?"
	if rate > 0 && p.total > p.done {
		eta = time.Duration(float64(p.total-p.done) / rate * float64(time.Second)).Round(time.Second).String()
	} else if p.total <= p.done {
		eta = "0s"
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% %s rows %s rows/s ETA %s ", p.label, bar, frac*100, human(p.done), human(int64(rate)), eta)
	p.drawn = true
}

// Finish clears the bar.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enabled && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func human(n int64) string {
	switch {
	case n >= 1_000_000_000:
		return fmt.Sprintf("%.1fG", float64(n)/1e9)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
