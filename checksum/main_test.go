package checksum

import (
	"os"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

var clusters pgcluster.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	clusters.StopAll()
	os.Exit(code)
}

func needPG(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Postgres (run without -short)")
	}
}
