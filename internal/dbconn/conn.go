package dbconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Options are the session guards every pgverify connection carries.
type Options struct {
	// Role names the side ("source", "target", "db") in errors.
	Role string
	// StatementTimeout and LockTimeout are set on the session; zero means the
	// defaults below, never "no limit".
	StatementTimeout time.Duration
	LockTimeout      time.Duration
	// ReadOnly sets default_transaction_read_only so a bug cannot write.
	ReadOnly bool
	// AppName is application_name (pgverify by default), visible in
	// pg_stat_activity so operators can see and cancel us.
	AppName string
	// Params are extra session settings (startup parameters).
	Params map[string]string
}

// Defaults for the session guards.
const (
	DefaultStatementTimeout = 10 * time.Minute
	DefaultLockTimeout      = 5 * time.Second
)

// Pinned output settings: every value pgverify reads or hashes as text must
// not depend on the server's or the user's configuration.
var pinned = map[string]string{
	"TimeZone":           "UTC",
	"DateStyle":          "ISO, MDY",
	"IntervalStyle":      "postgres",
	"extra_float_digits": "3", // shortest exact output on 12+
	"bytea_output":       "hex",
	"search_path":        "pg_catalog",
	"client_encoding":    "UTF8",
	// money's output (and input) follows lc_monetary: pinned so a cluster
	// configured for another currency format reads back the same text.
	"lc_monetary": "C",
}

// Resolve picks the DSN from the flag, else from the environment variable.
func Resolve(flag, env string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(env)
}

// Config parses dsn and applies the session guards. An empty dsn means libpq
// environment defaults (PGHOST, PGUSER, ...), as psql does.
func Config(dsn string, opts Options) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, &DSNError{Role: role(opts), Msg: Redact(unwrapParse(err))}
	}
	st := opts.StatementTimeout
	if st <= 0 {
		st = DefaultStatementTimeout
	}
	lt := opts.LockTimeout
	if lt <= 0 {
		lt = DefaultLockTimeout
	}
	rp := cfg.RuntimeParams
	for k, v := range pinned {
		rp[k] = v
	}
	rp["statement_timeout"] = ceilMS(st)
	rp["lock_timeout"] = ceilMS(lt)
	rp["idle_in_transaction_session_timeout"] = ceilMS(st + time.Minute)
	if opts.ReadOnly {
		rp["default_transaction_read_only"] = "on"
	}
	for k, v := range opts.Params {
		rp[k] = v
	}
	app := opts.AppName
	if app == "" {
		app = "pgverify"
	}
	rp["application_name"] = app
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	return cfg, nil
}

// ceilMS renders d in whole milliseconds, rounded up: Postgres reads these
// settings in ms and 0 disables them, so 900µs must become 1, not 0.
func ceilMS(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
}

// Connect opens one guarded connection. Errors are *DSNError or *ConnectError,
// one line, without the password.
func Connect(ctx context.Context, dsn string, opts Options) (*pgx.Conn, error) {
	cfg, err := Config(dsn, opts)
	if err != nil {
		return nil, err
	}
	return ConnectConfig(ctx, cfg, opts)
}

// ConnectConfig opens a connection from an already guarded config.
func ConnectConfig(ctx context.Context, cfg *pgx.ConnConfig, opts Options) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, classify(role(opts), cfg, err)
	}
	return conn, nil
}

func role(o Options) string {
	if o.Role == "" {
		return "database"
	}
	return o.Role
}

func unwrapParse(err error) string {
	msg := err.Error()
	// pgx: "cannot parse `<dsn>`: <reason>" — keep the reason only; the DSN
	// may hold a password.
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		msg = msg[i+3:]
	}
	return msg
}

// DSNError is a malformed connection string.
type DSNError struct {
	Role string
	Msg  string
}

func (e *DSNError) Error() string {
	return fmt.Sprintf("invalid %s connection string: %s (use postgres://user@host:5432/dbname or 'host=... dbname=...')", e.Role, e.Msg)
}

// ConnectErrorKind tells callers why a connection failed.
type ConnectErrorKind int

// Kinds of connection failure.
const (
	Unreachable ConnectErrorKind = iota + 1
	AuthFailed
	NoDatabase
	Refused
)

// ConnectError is a failed connection attempt, safe to print.
type ConnectError struct {
	Role   string
	Where  string // user@host:port/db, never the password
	Kind   ConnectErrorKind
	Reason string
	Hint   string
	Err    error
}

func (e *ConnectError) Error() string {
	s := fmt.Sprintf("cannot connect to %s %s: %s", e.Role, e.Where, e.Reason)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

func (e *ConnectError) Unwrap() error { return e.Err }

func classify(role string, cfg *pgx.ConnConfig, err error) error {
	where := fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
	ce := &ConnectError{Role: role, Where: where, Err: err}
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr):
		switch pgErr.Code {
		case "28P01", "28000":
			ce.Kind, ce.Reason = AuthFailed, "authentication failed for user "+strconv.Quote(cfg.User)
			ce.Hint = "check the password, PGPASSWORD or ~/.pgpass, and pg_hba.conf"
		case "3D000":
			ce.Kind, ce.Reason = NoDatabase, "database "+strconv.Quote(cfg.Database)+" does not exist"
			ce.Hint = "check the database name in the connection string"
		default:
			ce.Kind, ce.Reason = Refused, pgErr.Message+" (SQLSTATE "+pgErr.Code+")"
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		ce.Kind, ce.Reason = Unreachable, "connection refused"
		ce.Hint = "check host and port, and that the server is running"
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		ce.Kind, ce.Reason = Unreachable, "timed out"
		ce.Hint = "check host, port and firewalls"
	default:
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			ce.Kind, ce.Reason = Unreachable, "unknown host "+strconv.Quote(dnsErr.Name)
			ce.Hint = "check the host name"
		} else {
			ce.Kind, ce.Reason = Unreachable, lastLine(Redact(err.Error()))
		}
	}
	if cfg.Password != "" {
		ce.Reason = strings.ReplaceAll(ce.Reason, cfg.Password, "xxxxx")
	}
	return ce
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	// pgx nests "failed to connect to ...: <cause>"; the innermost cause reads best.
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		s = s[i+2:]
	}
	return s
}

var (
	// A URL runs to the next whitespace: a password cannot hold a raw space
	// in a URL, and anything longer is redacted rather than leaked.
	dsnURL = regexp.MustCompile(`(?i)postgres(?:ql)?://\S*`)
	// password=... (also sslpassword=...) in a URL query: up to & or #.
	queryPassword = regexp.MustCompile(`(?i)(password=)[^&#\s]*`)
	// password=... in key/value form, as libpq reads it: a quoted value
	// with backslash escapes (an unterminated one runs to the end), or an
	// unquoted value up to unescaped whitespace.
	kvPassword = regexp.MustCompile(`(?is)(password\s*=\s*)(?:'(?:[^'\\]|\\.)*(?:'|\\?$)|(?:[^\s\\]|\\.)*\\?)`)
)

// Redact replaces passwords in anything that may hold a DSN (URL userinfo,
// password=... in key/value form or a URL query) with xxxxx. What it
// prints never depends on the password (FuzzRedact checks that): in a URL
// the userinfo runs to the last @ before whitespace, so an unencoded @ in
// a password cannot show its tail.
func Redact(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range dsnURL.FindAllStringIndex(s, -1) {
		b.WriteString(kvPassword.ReplaceAllString(s[last:m[0]], "${1}xxxxx"))
		b.WriteString(redactURL(s[m[0]:m[1]]))
		last = m[1]
	}
	b.WriteString(kvPassword.ReplaceAllString(s[last:], "${1}xxxxx"))
	return b.String()
}

func redactURL(u string) string {
	i := strings.Index(u, "://") + 3
	head, rest := u[:i], u[i:]
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
			rest = rest[:colon+1] + "xxxxx" + rest[at:]
		}
	}
	return head + queryPassword.ReplaceAllString(rest, "${1}xxxxx")
}
