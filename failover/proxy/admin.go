package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgverify/pgverify/internal/dbconn"
)

// DefaultPauseTimeout is how long the admin console's PAUSE waits for open
// transactions when no timeout is given.
const DefaultPauseTimeout = 30 * time.Second

// ServeAdmin runs the admin console on l: the PostgreSQL protocol, simple
// queries only, so psql works. It authenticates like client connections.
func (p *Proxy) ServeAdmin(ctx context.Context, l net.Listener) error {
	if p.cfg.Users == nil && !IsLoopback(l.Addr().String()) {
		return fmt.Errorf("trust authentication (no auth file) is allowed on loopback only, not on %s", l.Addr())
	}
	return serve(ctx, l, p.handleAdmin)
}

func (p *Proxy) handleAdmin(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	conn, sm, err := p.negotiate(ctx, c, false)
	if err != nil || sm == nil {
		return
	}
	s := &session{p: p, client: conn, addr: c.RemoteAddr().String(), crd: newMsgReader(conn), cwr: bufio.NewWriter(conn)}
	if s.startParams(sm) != nil || p.authClient(s) != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	var out []encoder
	for _, kv := range [][2]string{{"server_version", "16.0 (pgverify proxy admin)"}, {"server_encoding", "UTF8"},
		{"client_encoding", "UTF8"}, {"DateStyle", "ISO, MDY"}, {"integer_datetimes", "on"}, {"standard_conforming_strings", "on"}} {
		out = append(out, &pgproto3.ParameterStatus{Name: kv[0], Value: kv[1]})
	}
	out = append(out, &pgproto3.BackendKeyData{ProcessID: 0, SecretKey: []byte{0, 0, 0, 0}}, &pgproto3.ReadyForQuery{TxStatus: 'I'})
	if s.send(out...) != nil {
		return
	}
	for {
		typ, msg, err := s.crd.next()
		if err != nil || typ == 'X' {
			return
		}
		var reply []encoder
		switch typ {
		case 'Q':
			q, _, _ := cstring(msg[5:])
			reply = p.adminQuery(ctx, q)
		case 'S':
			reply = []encoder{&pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "0A000",
				Message: "the pgverify proxy admin console speaks the simple query protocol only"}}
		default:
			continue // extended-protocol messages: answered at Sync
		}
		reply = append(reply, &pgproto3.ReadyForQuery{TxStatus: 'I'})
		if s.send(reply...) != nil {
			return
		}
	}
}

func adminError(code, msg string) []encoder {
	return []encoder{&pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: code, Message: msg}}
}

// rows renders a result set of text columns.
func rows(tag string, cols []string, data [][]string) []encoder {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, c := range cols {
		fields[i] = pgproto3.FieldDescription{Name: []byte(c), DataTypeOID: 25, DataTypeSize: -1, TypeModifier: -1}
	}
	out := []encoder{&pgproto3.RowDescription{Fields: fields}}
	for _, r := range data {
		vals := make([][]byte, len(r))
		for i, v := range r {
			vals[i] = []byte(v)
		}
		out = append(out, &pgproto3.DataRow{Values: vals})
	}
	return append(out, &pgproto3.CommandComplete{CommandTag: []byte(fmt.Sprintf("%s %d", tag, len(data)))})
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

// adminQuery runs one console command.
func (p *Proxy) adminQuery(ctx context.Context, q string) []encoder {
	q = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(q), ";"))
	word, arg, _ := strings.Cut(q, " ")
	arg = strings.TrimSpace(arg)
	switch strings.ToUpper(word) {
	case "":
		return []encoder{&pgproto3.EmptyQueryResponse{}}
	case "SHOW":
		switch strings.ToUpper(arg) {
		case "CLIENTS":
			return rows("SHOW", ClientColumns, ClientRows(p.Clients()))
		case "STATE":
			return rows("SHOW", StateColumns, [][]string{StateRow(p.State())})
		}
		return adminError("42601", "unknown SHOW: use SHOW CLIENTS or SHOW STATE")
	case "PAUSE":
		timeout := DefaultPauseTimeout
		if arg != "" {
			d, err := parseTimeout(arg)
			if err != nil {
				return adminError("22023", err.Error())
			}
			timeout = d
		}
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := p.Pause(pctx); err != nil {
			return adminError("57014", err.Error())
		}
		return rows("PAUSE", []string{"wait_ms"}, [][]string{{ms(time.Since(start))}})
	case "RESUME":
		st := p.State()
		if why := p.LeaseExpired(); !st.Paused && why != "" {
			// The coordinator must not believe its pause held to the end.
			return adminError("55000", why)
		}
		p.Resume()
		return rows("RESUME", []string{"paused_ms"}, [][]string{{ms(st.PausedFor)}})
	case "PREWARM":
		dsn, err := unquote(arg)
		if err != nil {
			return adminError("42601", "PREWARM takes the new backend's DSN as a 'quoted' string: "+err.Error())
		}
		start := time.Now()
		n, err := p.Prewarm(ctx, dsn)
		if err != nil {
			return adminError("08006", dbconn.Redact(err.Error()))
		}
		return rows("PREWARM", []string{"opened", "ms"}, [][]string{{strconv.Itoa(n), ms(time.Since(start))}})
	case "SWITCH":
		dsn, err := unquote(arg)
		if err != nil {
			return adminError("42601", "SWITCH takes the new backend's DSN as a 'quoted' string: "+err.Error())
		}
		rep, err := p.Switch(ctx, dsn)
		if err != nil {
			return adminError("55000", err.Error())
		}
		var out []encoder
		for _, c := range append(append([]ClosedSession(nil), rep.Closed...), rep.Failed...) {
			out = append(out, &pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000",
				Message: fmt.Sprintf("closed client %d (%s@%s): %s", c.ID, c.User, c.Database, c.Reason)})
		}
		return append(out, rows("SWITCH", SwitchColumns, [][]string{SwitchRow(rep)})...)
	}
	return adminError("42601", fmt.Sprintf("unknown command %q: use SHOW CLIENTS, SHOW STATE, PAUSE [timeout], RESUME, PREWARM 'dsn' or SWITCH 'dsn'", word))
}

// parseTimeout reads "5s", "500ms" or plain seconds.
func parseTimeout(s string) (time.Duration, error) {
	s = strings.Trim(s, "'")
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid PAUSE timeout %q: use seconds or a duration like 500ms", s)
	}
	return d, nil
}

// unquote reads a SQL string literal ('...' with ” for a quote).
func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", errors.New("missing quotes")
	}
	body := s[1 : len(s)-1]
	if strings.Count(strings.ReplaceAll(body, "''", ""), "'") > 0 {
		return "", errors.New("unescaped quote")
	}
	return strings.ReplaceAll(body, "''", "'"), nil
}

// Columns of the console's results; the report of each is built by the
// Row functions so other front ends can render the same table.
var (
	ClientColumns = []string{"id", "user", "database", "addr", "application_name", "state", "connected_at",
		"backend", "backend_pid", "prepared", "settings", "unmovable"}
	StateColumns = []string{"backend", "generation", "paused", "paused_ms", "clients", "in_transaction", "held",
		"last_switch_at", "last_switch_moved", "last_switch_closed", "last_switch_failed", "last_switch_ms"}
	SwitchColumns = []string{"moved", "closed", "failed", "duration_ms", "backend"}
)

// ClientRows renders Clients for SHOW CLIENTS.
func ClientRows(cs []ClientInfo) [][]string {
	out := make([][]string, len(cs))
	for i, c := range cs {
		out[i] = []string{strconv.FormatUint(uint64(c.ID), 10), c.User, c.Database, c.Addr, c.ApplicationName, c.State,
			c.ConnectedAt.UTC().Format(time.RFC3339), c.Backend, strconv.FormatUint(uint64(c.BackendPID), 10),
			strconv.Itoa(c.Prepared), strconv.Itoa(c.Settings), c.Unmovable}
	}
	return out
}

// StateRow renders State for SHOW STATE.
func StateRow(st State) []string {
	r := []string{st.Backend, strconv.Itoa(st.Generation), strconv.FormatBool(st.Paused), ms(st.PausedFor),
		strconv.Itoa(st.Clients), strconv.Itoa(st.InTx), strconv.Itoa(st.Held), "", "", "", "", ""}
	if ls := st.LastSwitch; ls != nil {
		r[7], r[8], r[9], r[10], r[11] = ls.At.UTC().Format(time.RFC3339), strconv.Itoa(ls.Moved), strconv.Itoa(len(ls.Closed)),
			strconv.Itoa(len(ls.Failed)), ms(ls.Duration)
	}
	return r
}

// SwitchRow renders a SwitchReport for SWITCH.
func SwitchRow(r *SwitchReport) []string {
	return []string{strconv.Itoa(r.Moved), strconv.Itoa(len(r.Closed)), strconv.Itoa(len(r.Failed)), ms(r.Duration), r.To}
}
