package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgpassfile"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgverify/pgverify/internal/dbconn"
)

// target is a backend the proxy logs in to: a parsed DSN whose user,
// database and password are replaced per client.
type target struct {
	dsn string
	cfg *pgconn.Config
}

func newTarget(dsn string) (*target, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid backend connection string: %s", dbconn.Redact(err.Error()))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	// 3.0 keeps 4-byte cancel keys, which is what the proxy hands clients.
	cfg.MaxProtocolVersion = "3.0"
	return &target{dsn: dsn, cfg: cfg}, nil
}

// redacted is the DSN without its password, for reports.
func (t *target) redacted() string { return dbconn.Redact(t.dsn) }

// backend is one hijacked server connection.
type backend struct {
	conn   net.Conn
	rd     *msgReader
	wr     *bufio.Writer
	pid    uint32
	key    []byte
	params map[string]string
	gen    int
	addr   string
}

// password finds the password the proxy logs in to t with as user: the auth
// file's plain password, the DSN's own (same user), else .pgpass.
func (p *Proxy) password(t *target, user, db string) string {
	if s, ok := p.cfg.Users[user]; ok && s.Plain != "" {
		return s.Plain
	}
	if user == t.cfg.User && t.cfg.Password != "" {
		return t.cfg.Password
	}
	path := p.cfg.PassFile
	if path == "" {
		path = os.Getenv("PGPASSFILE")
	}
	if path == "" {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, ".pgpass")
		}
	}
	pf, err := pgpassfile.ReadPassfile(path)
	if err != nil {
		return ""
	}
	host := t.cfg.Host
	if filepath.IsAbs(host) {
		host = "localhost"
	}
	return pf.FindPassword(host, strconv.Itoa(int(t.cfg.Port)), db, user)
}

// connect opens a backend session for user on db with the client's startup
// parameters.
func (p *Proxy) connect(ctx context.Context, t *target, gen int, user, db string, params map[string]string) (*backend, error) {
	c := t.cfg.Copy()
	c.User, c.Database = user, db
	c.Password = p.password(t, user, db)
	rp := make(map[string]string, len(t.cfg.RuntimeParams)+len(params))
	for k, v := range t.cfg.RuntimeParams {
		rp[k] = v
	}
	for k, v := range params {
		if k != "user" && k != "database" {
			rp[k] = v
		}
	}
	c.RuntimeParams = rp
	pc, err := pgconn.ConnectConfig(ctx, c)
	if err != nil {
		return nil, err
	}
	// pgconn may still have a background read in flight from a slow login
	// write (its 15 ms slow-write timer): bytes it reads later would be lost
	// to the proxy. SyncConn stops it and drains its buffers.
	if err := pc.SyncConn(ctx); err != nil {
		pc.Close(ctx)
		return nil, fmt.Errorf("taking over the backend connection: %w", err)
	}
	hc, err := pc.Hijack()
	if err != nil {
		return nil, fmt.Errorf("taking over the backend connection: %w", err)
	}
	params2 := make(map[string]string, len(hc.ParameterStatuses))
	for k, v := range hc.ParameterStatuses {
		params2[k] = v
	}
	return &backend{conn: hc.Conn, rd: newMsgReader(hc.Conn), wr: bufio.NewWriterSize(hc.Conn, 32<<10),
		pid: hc.PID, key: hc.SecretKey, params: params2, gen: gen, addr: hc.Conn.RemoteAddr().String()}, nil
}

// terminate ends a backend session politely.
func (b *backend) terminate() {
	_ = b.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = b.conn.Write([]byte{'X', 0, 0, 0, 4})
	_ = b.conn.Close()
}

// cancel sends the server a cancel request for this session.
func (b *backend) cancel() error {
	ra := b.conn.RemoteAddr()
	c, err := net.DialTimeout(ra.Network(), ra.String(), 5*time.Second)
	if err != nil {
		return fmt.Errorf("forwarding a cancel request: %w", err)
	}
	defer c.Close()
	msg, err := (&pgproto3.CancelRequest{ProcessID: b.pid, SecretKey: b.key}).Encode(nil)
	if err != nil {
		return err
	}
	_, err = c.Write(msg)
	return err
}

// replay restores a session's settings and prepared statements on b. It
// returns the first error the server reports.
func (b *backend) replay(ctx context.Context, sql string, parses [][]byte) error {
	if sql == "" && len(parses) == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = b.conn.SetDeadline(dl)
		defer b.conn.SetDeadline(time.Time{})
	}
	want := 0
	if sql != "" {
		b.wr.Write(appendMsgs(nil, &pgproto3.Query{String: sql}))
		want++
	}
	if len(parses) > 0 {
		for _, m := range parses {
			b.wr.Write(m)
		}
		b.wr.Write([]byte{'S', 0, 0, 0, 4})
		want++
	}
	if err := b.wr.Flush(); err != nil {
		return err
	}
	var first error
	for want > 0 {
		typ, msg, err := b.rd.next()
		if err != nil {
			return err
		}
		switch typ {
		case 'E':
			if first == nil {
				var er pgproto3.ErrorResponse
				if er.Decode(msg[5:]) == nil {
					first = &pgconn.PgError{Severity: er.Severity, Code: er.Code, Message: er.Message}
				} else {
					first = errors.New("replay failed")
				}
			}
		case 'S':
			var ps pgproto3.ParameterStatus
			if ps.Decode(msg[5:]) == nil {
				b.params[ps.Name] = ps.Value
			}
		case 'Z':
			want--
		}
	}
	return first
}
