package failover

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgverify/pgverify/internal/dbconn"
)

// The fence's fast proof is that the source's next transaction id does
// not move between the fence and the marker. That counter is cluster-wide:
// a write in another database of the same cluster, or an autovacuum
// ANALYZE (it updates pg_statistic, so it takes an xid), moves it too, and
// on a busy cluster would roll every switch back. The witness settles
// those cases exactly: a temporary logical slot on the source, created
// just before the pause, decodes what was written to this database; any
// transaction other than the marker that changed a table after the fence
// is a writer outside the proxies. Catalog-only transactions (ANALYZE)
// and other databases decode to nothing.
//
// test_decoding (contrib, present wherever the server's contrib is) shows
// a change to any table of the database; pgoutput, the fallback, only to
// published ones. The slot is temporary (dropped when its session ends)
// and lives only through the pause; decoding runs only when the fast
// proof fails.

// witness is the temporary slot and the session that owns it.
type witness struct {
	conn   *pgx.Conn
	slot   string
	plugin string // test_decoding (every table), or pgoutput (published tables) where contrib is missing
	pubs   string // the publication_names option, each name quoted
}

// foreignTx is a transaction the witness saw change a published table.
type foreignTx struct {
	XID    string
	Commit uint64 // commit LSN
	Tables []string
}

// openWitness creates the slot. It waits for the transactions running
// now to end (logical decoding needs a consistent start), so it runs
// before the pause with a short bound; a failure only means the fence
// keeps to the cluster-wide proof.
func (r *run) openWitness(ctx context.Context) {
	t0 := time.Now()
	s := Step{Name: "fence witness", Phase: PhaseBefore, Status: StepOK}
	w, err := r.createWitness(ctx)
	s.Duration = time.Since(t0)
	if err != nil {
		s.Status = StepWarning
		s.Detail = dbconn.Redact(err.Error()) + " (the fence proves the source idle by its cluster-wide next xid alone: other databases and autovacuum can roll the switch back)"
	} else {
		r.wit = w
		s.Detail = "temporary logical slot " + w.slot + " on the source (" + w.plugin + ")"
		if w.plugin == "pgoutput" {
			s.Detail = "temporary logical slot " + w.slot + " on the source (pgoutput: test_decoding is not installed, so writes to tables outside publications " + w.pubs + " are not seen)"
		}
	}
	r.mu.Lock()
	r.res.Steps = append(r.res.Steps, s)
	r.mu.Unlock()
}

func (r *run) createWitness(ctx context.Context) (*witness, error) {
	var pubs []string
	for _, s := range r.subs {
		for _, p := range s.pubs {
			pubs = append(pubs, pgx.Identifier{p}.Sanitize())
		}
	}
	if len(pubs) == 0 {
		return nil, fmt.Errorf("no forward publication to decode")
	}
	co := r.opts.Conn
	co.ReadOnly, co.Role = false, "source"
	conn, err := dbconn.Connect(ctx, r.opts.SourceDSN, co)
	if err != nil {
		return nil, fmt.Errorf("witness session: %w", err)
	}
	w := &witness{conn: conn, pubs: strings.Join(pubs, ",")}
	// A server-side bound: a cancelled wait keeps the session usable, and
	// a long transaction on the source must not hold the switch.
	if _, err := conn.Exec(ctx, "SELECT set_config('statement_timeout', '3s', false)"); err != nil {
		w.close()
		return nil, fmt.Errorf("witness session: %w", err)
	}
	if err := conn.QueryRow(ctx, "SELECT 'pgverify_fence_' || pg_backend_pid()").Scan(&w.slot); err != nil {
		w.close()
		return nil, fmt.Errorf("witness session: %w", err)
	}
	// test_decoding sees a write to any table of the database, published
	// or not; pgoutput, built into the server, only the published ones.
	for _, plugin := range []string{"test_decoding", "pgoutput"} {
		w.plugin = plugin
		_, err = conn.Exec(ctx, "SELECT pg_catalog.pg_create_logical_replication_slot($1, $2, true)", w.slot, plugin)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "58P01" { // undefined_file: the plugin is not installed
			break
		}
	}
	if err != nil {
		w.close()
		return nil, fmt.Errorf("creating the witness slot: %w", err)
	}
	return w, nil
}

func (w *witness) close() {
	if w != nil && w.conn != nil {
		_ = w.conn.Close(context.Background())
	}
}

// changesAfter decodes the slot up to the end of WAL and returns every
// committed transaction but skipXID that changed a table (test_decoding:
// any table of the database; pgoutput: a published one) and whose commit
// record ends after lsn, i.e. was written after the fence read it.
func (w *witness) changesAfter(ctx context.Context, lsn string, skipXID uint64) ([]foreignTx, error) {
	after, err := parseLSN(lsn)
	if err != nil {
		return nil, err
	}
	// The lsn column of a commit is the end of its commit record.
	q := `SELECT lsn::text, xid::text, pg_catalog.convert_to(data, 'UTF8') FROM pg_catalog.pg_logical_slot_peek_changes($1, NULL, NULL,
		'skip-empty-xacts', '1', 'include-xids', '1')`
	args := []any{w.slot}
	if w.plugin == "pgoutput" {
		q = `SELECT lsn::text, xid::text, data FROM pg_catalog.pg_logical_slot_peek_binary_changes($1, NULL, NULL,
		'proto_version', '1', 'publication_names', $2)`
		args = append(args, w.pubs)
	}
	rows, err := w.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("decoding the witness slot: %w", err)
	}
	defer rows.Close()
	names := map[uint32]string{}
	open := map[string]map[string]bool{} // xid → tables changed
	touch := func(xid, table string) {
		if open[xid] == nil {
			open[xid] = map[string]bool{}
		}
		open[xid][table] = true
	}
	var out []foreignTx
	skip := strconv.FormatUint(skipXID, 10)
	for rows.Next() {
		var at, xid string
		var data []byte
		if err := rows.Scan(&at, &xid, &data); err != nil {
			return nil, fmt.Errorf("decoding the witness slot: %w", err)
		}
		commit := false
		if w.plugin == "pgoutput" {
			commit = pgoutputMsg(data, xid, names, touch)
		} else {
			commit = testDecodingMsg(string(data), xid, touch)
		}
		if !commit {
			continue
		}
		tables := open[xid]
		delete(open, xid)
		end, err := parseLSN(at)
		if err != nil {
			return nil, err
		}
		if len(tables) == 0 || xid == skip || end <= after {
			continue
		}
		ft := foreignTx{XID: xid, Commit: end}
		for t := range tables {
			ft.Tables = append(ft.Tables, t)
		}
		sort.Strings(ft.Tables)
		out = append(out, ft)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("decoding the witness slot: %w", err)
	}
	return out, nil
}

// testDecodingMsg reads one line of test_decoding output; it reports
// whether the line is a commit.
func testDecodingMsg(line, xid string, touch func(xid, table string)) bool {
	if strings.HasPrefix(line, "COMMIT") {
		return true
	}
	rest, ok := strings.CutPrefix(line, "table ")
	if !ok {
		return false
	}
	// "table public.t: INSERT: id[integer]:1": the name is quoted where it
	// needs to be, so the first action marker ends it.
	cut := -1
	for _, a := range []string{": INSERT:", ": UPDATE:", ": DELETE:", ": TRUNCATE:"} {
		if i := strings.Index(rest, a); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		rest = rest[:cut]
	}
	touch(xid, rest)
	return false
}

// pgoutputMsg reads one pgoutput (protocol 1) message; it reports whether
// the message is a commit.
func pgoutputMsg(data []byte, xid string, names map[uint32]string, touch func(xid, table string)) bool {
	if len(data) == 0 {
		return false
	}
	name := func(oid uint32) string {
		if n, ok := names[oid]; ok {
			return n
		}
		return "oid " + strconv.FormatUint(uint64(oid), 10)
	}
	switch data[0] {
	case 'C':
		return true
	case 'R':
		if oid, ns, rel, ok := relationMsg(data); ok {
			names[oid] = pgx.Identifier{ns, rel}.Sanitize()
		}
	case 'I', 'U', 'D':
		if len(data) >= 5 {
			touch(xid, name(binary.BigEndian.Uint32(data[1:5])))
		}
	case 'T':
		// nrels int32, options int8, then nrels oids.
		if len(data) >= 6 {
			n := int(binary.BigEndian.Uint32(data[1:5]))
			for i := 0; i < n && 6+4*i+4 <= len(data); i++ {
				touch(xid, name(binary.BigEndian.Uint32(data[6+4*i:])))
			}
		}
	}
	return false
}

// relationMsg reads a pgoutput Relation message's oid, namespace and name.
func relationMsg(b []byte) (uint32, string, string, bool) {
	if len(b) < 5 {
		return 0, "", "", false
	}
	oid := binary.BigEndian.Uint32(b[1:5])
	rest := b[5:]
	i := indexNUL(rest)
	if i < 0 {
		return 0, "", "", false
	}
	ns := string(rest[:i])
	rest = rest[i+1:]
	if i = indexNUL(rest); i < 0 {
		return 0, "", "", false
	}
	return oid, ns, string(rest[:i]), true
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// parseLSN reads a pg_lsn's text form, X/Y.
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	return h<<32 | l, nil
}

// describeForeign renders foreign transactions for an error.
func describeForeign(txs []foreignTx) string {
	parts := make([]string, 0, len(txs))
	for i, t := range txs {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(txs)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("xid %s changed %s", t.XID, strings.Join(t.Tables, ", ")))
	}
	return strings.Join(parts, "; ")
}
