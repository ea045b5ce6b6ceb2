package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressDrawsOnlyOnTerminal(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, "tables")
	p.Start(1, 1000)
	p.Advance(500)
	p.Finish()
	if b.Len() != 0 {
		t.Fatalf("drew on a non-terminal: %q", b.String())
	}

	p = NewProgress(&b, "tables")
	p.enabled = true // as on a terminal
	p.Start(2, 2_000_000)
	p.start = time.Now().Add(-2 * time.Second)
	p.Advance(1_000_000)
	out := b.String()
	for _, want := range []string{"\rtables [", "50%", "1.0M rows", "500k rows/s", "ETA 2s"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress line %q lacks %q", out, want)
		}
	}
	p.Advance(10) // within 200ms: not redrawn
	if b.String() != out {
		t.Errorf("redrew too often: %q", b.String())
	}
	p.Finish()
	if !strings.HasSuffix(b.String(), "\r\033[K") {
		t.Errorf("Finish did not clear the line: %q", b.String())
	}
}
