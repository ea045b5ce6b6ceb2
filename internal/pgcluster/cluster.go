package pgcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Majors are the Postgres majors that scripts/fetch-postgres.sh installs.
var Majors = []int{13, 16, 17}

// Options configures a throwaway cluster.
type Options struct {
	Major int
	// Settings are extra postgresql.conf settings (name → value).
	Settings map[string]string
	// Name labels the data directory, for humans looking at /tmp.
	Name string
	// Keep leaves the data directory on Stop (the demo uses it).
	Keep bool
	// Dir, when set, is the data directory to create (must not exist).
	Dir string
	// Port, when non-zero, is the port to listen on instead of a free one.
	Port int
}

// Cluster is a running Postgres server on 127.0.0.1.
type Cluster struct {
	Major    int
	Port     int
	Dir      string
	BinDir   string
	Password string
	keep     bool
	cred     *syscall.Credential
	stopOnce sync.Once
}

// Root returns the directory holding the npm-installed Postgres packages.
// PGVERIFY_PG_ROOT overrides; otherwise .pg/node_modules in the module root.
func Root() (string, error) {
	if r := os.Getenv("PGVERIFY_PG_ROOT"); r != "" {
		return r, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate module root")
	}
	// internal/pgcluster/cluster.go → module root
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		wd, _ := os.Getwd()
		for d := wd; d != "/" && d != "."; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				root = d
				break
			}
		}
	}
	return filepath.Join(root, ".pg", "node_modules"), nil
}

// BinDir returns the bin directory of the given major, or an error telling
// the reader how to install it.
func BinDir(major int) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, fmt.Sprintf("pg%d", major), "native", "bin")
	if _, err := os.Stat(filepath.Join(dir, "postgres")); err != nil {
		return "", fmt.Errorf("postgres %d binaries not found in %s: run `make postgres` (scripts/fetch-postgres.sh)", major, dir)
	}
	return dir, nil
}

// Available reports whether the binaries of a major are installed.
func Available(major int) bool {
	_, err := BinDir(major)
	return err == nil
}

// runAs returns the credential to run server processes with: Postgres
// refuses to run as root, so root runs it as the "postgres" system user.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs an unprivileged \"postgres\" user (useradd -r postgres): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

var portMu sync.Mutex

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "pw" + hex.EncodeToString(b)
}

// Start runs initdb and starts a server. The superuser is "postgres" with a
// random password (scram over TCP), so tests exercise real authentication.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := BinDir(opts.Major)
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		name := opts.Name
		if name == "" {
			name = "pg"
		}
		dir, err = os.MkdirTemp("", fmt.Sprintf("pgverify-%s%d-", name, opts.Major))
		if err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c := &Cluster{Major: opts.Major, Dir: dir, BinDir: bin, Password: randomPassword(), keep: opts.Keep, cred: cred}
	if err := c.chown(dir); err != nil {
		return nil, err
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := c.chown(pwfile); err != nil {
		return nil, err
	}
	data := c.DataDir()
	if out, err := c.run(ctx, "initdb", "-D", data, "-U", "postgres", "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb %d: %w\n%s", opts.Major, err, out)
	}
	_ = os.Remove(pwfile)

	settings := map[string]string{
		"listen_addresses":                "'127.0.0.1'",
		"unix_socket_directories":         "'" + dir + "'",
		"wal_level":                       "logical",
		"max_replication_slots":           "20",
		"max_wal_senders":                 "20",
		"max_logical_replication_workers": "12",
		"max_worker_processes":            "24",
		"fsync":                           "off",
		"synchronous_commit":              "off",
		"full_page_writes":                "off",
		"shared_buffers":                  "128MB",
		"wal_sender_timeout":              "'10s'",
		"wal_receiver_status_interval":    "1",
		"logging_collector":               "off",
		"log_min_messages":                "warning",
		"max_connections":                 "100",
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	var conf strings.Builder
	conf.WriteString("\n# pgverify test settings\n")
	for k, v := range settings {
		fmt.Fprintf(&conf, "%s = %s\n", k, v)
	}
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(conf.String())
	f.Close()
	if err != nil {
		return nil, err
	}

	// A free port can be taken by someone else between probe and bind: retry.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		c.Port = port
		out, err := c.run(ctx, "pg_ctl", "-D", data, "-l", c.LogFile(), "-w", "-t", "60",
			"-o", fmt.Sprintf("-p %d", port), "start")
		if err == nil {
			return c, nil
		}
		lastErr = fmt.Errorf("pg_ctl start %d: %w\n%s\n%s", opts.Major, err, out, c.tailLog())
		if opts.Port != 0 {
			break
		}
	}
	return nil, lastErr
}

// DataDir is the cluster's PGDATA.
func (c *Cluster) DataDir() string { return filepath.Join(c.Dir, "data") }

// LogFile is the server log.
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, "server.log") }

func (c *Cluster) tailLog() string {
	b, _ := os.ReadFile(c.LogFile())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func (c *Cluster) chown(path string) error {
	if c.cred == nil {
		return nil
	}
	return os.Chown(path, int(c.cred.Uid), int(c.cred.Gid))
}

func (c *Cluster) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, prog), args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

// DSN is a URL for database db as the superuser, with the password.
func (c *Cluster) DSN(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", c.Password),
		Host: fmt.Sprintf("127.0.0.1:%d", c.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// ConnInfo is the libpq key=value form, for CREATE SUBSCRIPTION.
func (c *Cluster) ConnInfo(db string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=%s dbname=%s", c.Port, c.Password, db)
}

// Connect opens a superuser connection to db.
func (c *Cluster) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, c.DSN(db))
}

// Exec runs SQL (several statements allowed) in db.
func (c *Cluster) Exec(ctx context.Context, db, sql string) error {
	conn, err := c.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// CreateDB creates a database (name must be a plain identifier).
func (c *Cluster) CreateDB(ctx context.Context, name string) error {
	return c.Exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// Stop shuts the server down and removes its directory unless Keep was set.
func (c *Cluster) Stop() error {
	var err error
	c.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, e := c.run(ctx, "pg_ctl", "-D", c.DataDir(), "-m", "immediate", "-w", "stop")
		if e != nil && !strings.Contains(string(out), "No such file") {
			err = fmt.Errorf("pg_ctl stop: %w: %s", e, out)
		}
		if !c.keep {
			_ = os.RemoveAll(c.Dir)
		}
	})
	return err
}
