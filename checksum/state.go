package checksum

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/pgverify/pgverify/internal/catalog"
)

// Shard selects 1/N of every table's rows by the key hash (the row hash for
// tables without a key): a split that depends on nothing but the rows'
// values, so N jobs that run at different times together cover every row
// exactly once. The zero value is no sharding.
type Shard struct {
	I, N int // 1 <= I <= N
}

func (s Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// ParseShard reads "I/N".
func ParseShard(v string) (Shard, error) {
	var s Shard
	if _, err := fmt.Sscanf(v, "%d/%d", &s.I, &s.N); err != nil || fmt.Sprintf("%d/%d", s.I, s.N) != v {
		return Shard{}, fmt.Errorf("--shard %q: want I/N, e.g. 2/4", v)
	}
	if s.N < 1 || s.N > 1024 || s.I < 1 || s.I > s.N {
		return Shard{}, fmt.Errorf("--shard %q: want 1 <= I <= N <= 1024", v)
	}
	return s, nil
}

// predicate is the SQL condition selecting the shard's rows by hash h.
func (s Shard) predicate(h string) string {
	if s.N <= 1 {
		return ""
	}
	return fmt.Sprintf("((%s) %% %d + %d) %% %d = %d", h, s.N, s.N, s.N, s.I-1)
}

// State records the tables a run verified equal, so a re-run after an
// interruption skips them. It is bound to the pair of databases, the shard
// and the selection, and each table to its columns and key on both sides:
// a state that no longer describes the databases is refused, never used.
type State struct {
	path string
	mu   sync.Mutex
	data stateFile
	// skipped counts the tables a run took from the state.
	skipped int
}

type stateFile struct {
	Version   int                   `json:"version"`
	Source    string                `json:"source"` // system identifier and database oid
	Target    string                `json:"target"`
	Shard     string                `json:"shard,omitempty"`
	Selection catalog.Selection     `json:"selection"`
	Tables    map[string]stateTable `json:"tables"`
}

type stateTable struct {
	Schema      string    `json:"schema"`
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	SnapshotLSN string    `json:"snapshot_lsn"`
	RowsSource  int64     `json:"rows_source"`
	RowsTarget  int64     `json:"rows_target"`
	VerifiedAt  time.Time `json:"verified_at"`
}

// StaleStateError: the state file describes other databases, another shard
// or selection, or tables whose columns have changed since.
type StaleStateError struct {
	Path, Why string
}

func (e *StaleStateError) Error() string {
	return fmt.Sprintf("stale --state %s: %s; delete the file to verify everything again", e.Path, e.Why)
}

// OpenState reads path, or starts an empty state when it does not exist.
func OpenState(path string) (*State, error) {
	st := &State{path: path, data: stateFile{Version: 1, Tables: map[string]stateTable{}}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading --state %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st.data); err != nil || st.data.Version != 1 {
		return nil, &StaleStateError{Path: path, Why: "not a pgverify state file (version 1)"}
	}
	if st.data.Tables == nil {
		st.data.Tables = map[string]stateTable{}
	}
	return st, nil
}

// Skipped is how many tables the last run took from the state.
func (s *State) Skipped() int { return s.skipped }

func stateKey(schema, name string) string { return schema + "\x00" + name }

// bind checks that the state belongs to this run, or binds an empty one.
func (s *State) bind(src, tgt string, shard Shard, sel catalog.Selection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &s.data
	if d.Source == "" && len(d.Tables) == 0 {
		d.Source, d.Target, d.Shard, d.Selection = src, tgt, shard.String(), sel
		return nil
	}
	switch {
	case d.Source != src || d.Target != tgt:
		return &StaleStateError{Path: s.path, Why: fmt.Sprintf("it was written for source %s and target %s, this run compares %s and %s", d.Source, d.Target, src, tgt)}
	case d.Shard != shard.String():
		return &StaleStateError{Path: s.path, Why: fmt.Sprintf("it was written for --shard %q, this run is %q", d.Shard, shard.String())}
	case fmt.Sprint(d.Selection) != fmt.Sprint(sel):
		return &StaleStateError{Path: s.path, Why: "it was written for other --table/--exclude patterns"}
	}
	return nil
}

// lookup returns the recorded table, checking that it still has the
// columns and key it had.
func (s *State) lookup(schema, name, fingerprint string) (stateTable, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.data.Tables[stateKey(schema, name)]
	if !ok {
		return t, false, nil
	}
	if t.Fingerprint != fingerprint {
		return t, false, &StaleStateError{Path: s.path, Why: fmt.Sprintf("table %s.%s changed since it was verified (columns, types or key differ)", schema, name)}
	}
	s.skipped++
	return t, true, nil
}

// record writes a table verified equal, atomically (temp file + rename), so
// an interruption at any moment leaves a complete state.
func (s *State) record(t stateTable) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Tables[stateKey(t.Schema, t.Name)] = t
	b, err := json.MarshalIndent(s.data, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".pgverify-state-*")
	if err != nil {
		return fmt.Errorf("writing --state %s: %w", s.path, err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing --state %s: %w", s.path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing --state %s: %w", s.path, err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing --state %s: %w", s.path, err)
	}
	return nil
}

// fingerprint identifies what a table's comparison depends on: both sides'
// columns (name, type, nullability, collation) and the key.
func fingerprint(src, tgt []catalog.Column, key []string) string {
	type col struct {
		N, T, C string
		NN      bool
	}
	cols := func(cs []catalog.Column) []col {
		out := make([]col, len(cs))
		for i, c := range cs {
			out[i] = col{c.Name, c.Type, c.Collation, c.NotNull}
		}
		sort.Slice(out, func(a, b int) bool { return out[a].N < out[b].N })
		return out
	}
	b, _ := json.Marshal([]any{cols(src), cols(tgt), key})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}
