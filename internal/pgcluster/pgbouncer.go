package pgcluster

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// PgBouncer is a throwaway PgBouncer (Debian's package: make tools installs
// it) in front of one cluster, in transaction pooling mode by default,
// running as the postgres user when started as root (it refuses root too).
type PgBouncer struct {
	Dir, Ini string
	Port     int
	User     string // the first user of the userlist, an admin
	Password string // its password
	cmd      *exec.Cmd
	done     chan struct{}
}

// PgBouncerOptions configure StartPgBouncer.
type PgBouncerOptions struct {
	PoolMode string // transaction (default), session or statement
	DB       string // the database name clients use; points at c's db
	// Users are the userlist (user → password); default postgres with the
	// cluster's password. The first user (sorted) is also the admin.
	Users map[string]string
}

// PgBouncerBinary finds pgbouncer, or says how to install it.
func PgBouncerBinary() (string, error) {
	for _, p := range []string{"pgbouncer", "/usr/sbin/pgbouncer"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("pgbouncer not installed: run make tools (apt-get install -y pgbouncer)")
}

// StartPgBouncer starts a PgBouncer whose database opts.DB points at db on c.
func StartPgBouncer(ctx context.Context, c *Cluster, opts PgBouncerOptions) (*PgBouncer, error) {
	bin, err := PgBouncerBinary()
	if err != nil {
		return nil, err
	}
	if opts.PoolMode == "" {
		opts.PoolMode = "transaction"
	}
	dir, err := os.MkdirTemp("", "pgverify-pgbouncer-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if opts.Users == nil {
		opts.Users = map[string]string{"postgres": c.Password}
	}
	var names []string
	for u := range opts.Users {
		names = append(names, u)
	}
	sort.Strings(names)
	b := &PgBouncer{Dir: dir, Ini: filepath.Join(dir, "pgbouncer.ini"), Port: port, User: names[0], Password: opts.Users[names[0]], done: make(chan struct{})}
	users := ""
	for _, u := range names {
		users += fmt.Sprintf("%q %q\n", u, opts.Users[u])
	}
	ini := fmt.Sprintf(`;; written by pgverify's tests
[databases]
%s = host=127.0.0.1 port=%d dbname=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = scram-sha-256
auth_file = %s
admin_users = %s
pool_mode = %s
max_client_conn = 500
default_pool_size = 40
logfile = %s
pidfile = %s
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
`, opts.DB, c.Port, opts.DB, port, filepath.Join(dir, "userlist.txt"), strings.Join(names, ", "), opts.PoolMode,
		filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
	if err := os.WriteFile(filepath.Join(dir, "userlist.txt"), []byte(users), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(b.Ini, []byte(ini), 0o600); err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, b.Ini, filepath.Join(dir, "userlist.txt")} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	b.cmd = exec.Command(bin, b.Ini)
	b.cmd.Dir = dir
	if cred != nil {
		b.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting pgbouncer: %w", err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return b, nil
		}
		select {
		case <-b.done:
			return nil, fmt.Errorf("pgbouncer exited: %s", b.Log())
		case <-ctx.Done():
			b.Stop()
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			b.Stop()
			return nil, fmt.Errorf("pgbouncer did not listen within 10s: %s", b.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// DSN is a URL to database db through the PgBouncer.
func (b *PgBouncer) DSN(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(b.User, b.Password),
		Host: fmt.Sprintf("127.0.0.1:%d", b.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// AdminDSN is the admin console.
func (b *PgBouncer) AdminDSN() string { return b.DSN("pgbouncer") }

// Log is the tail of the PgBouncer's log.
func (b *PgBouncer) Log() string {
	data, _ := os.ReadFile(filepath.Join(b.Dir, "pgbouncer.log"))
	s := string(data)
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return strings.TrimSpace(s)
}

// Stop ends the PgBouncer and removes its directory.
func (b *PgBouncer) Stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			_ = b.cmd.Process.Kill()
			<-b.done
		}
	}
	os.RemoveAll(b.Dir)
}

// UnprivilegedAttr runs a child process as the postgres user when the
// caller is root (nil otherwise), for tests of what a non-root user sees.
func UnprivilegedAttr() *syscall.SysProcAttr {
	cred, err := runAs()
	if err != nil || cred == nil {
		return nil
	}
	return &syscall.SysProcAttr{Credential: cred}
}
