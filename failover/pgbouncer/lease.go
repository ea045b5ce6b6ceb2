package pgbouncer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PgBouncer's PAUSE has no lease of its own: a coordinator killed inside
// the pause would leave the database paused for ever, perhaps pointed at a
// cluster the rest of the fleet never moved to. So Pause first starts a
// keeper: a small process of its own (this binary again, in its own process
// group) holding a pipe from the coordinator. When the pipe closes without
// "done" (the coordinator died) or the lease runs out, the keeper points
// the database back at the backend it had when the pause began and sends
// RESUME. Once the coordinator said "commit" (every member has switched),
// the keeper only resumes.

// keeperEnv marks a process started as a lease keeper.
const keeperEnv = "PGVERIFY_PGBOUNCER_KEEPER"

// DefaultLease bounds a PgBouncer pause when the spec gives no lease=.
const DefaultLease = time.Minute

type keeperConfig struct {
	Spec  Spec          `json:"spec"`
	Lease time.Duration `json:"lease"`
	// The database's backend when the pause began.
	Host   string `json:"host"`
	Port   int    `json:"port"`
	DBName string `json:"dbname"`
}

// RunKeeperIfAsked runs the lease keeper and exits when this process was
// started as one; otherwise it returns at once. Call it first thing in
// main (and in TestMain of packages whose tests pause a PgBouncer).
func RunKeeperIfAsked() {
	if os.Getenv(keeperEnv) != "1" {
		return
	}
	// The coordinator's terminal going away must not end the keeper, and
	// writes after the coordinator died must fail, not kill it.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)
	os.Exit(runKeeper(os.Stdin, os.Stdout))
}

func runKeeper(in io.Reader, out io.Writer) int {
	r := bufio.NewReader(in)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return 2
	}
	var cfg keeperConfig
	if err := json.Unmarshal(line, &cfg); err != nil {
		return 2
	}
	if _, err := io.WriteString(out, "armed\n"); err != nil {
		return 2
	}
	lines := make(chan string)
	go func() {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- strings.TrimSpace(l)
		}
	}()
	lease := time.NewTimer(cfg.Lease)
	committed := false
	for {
		select {
		case l, ok := <-lines:
			switch {
			case !ok: // the coordinator is gone
				takeOver(cfg, committed)
				return 0
			case l == "done":
				return 0
			case l == "commit":
				committed = true
			}
		case <-lease.C:
			takeOver(cfg, committed)
			return 0
		}
	}
}

// takeOver ends the pause the coordinator left: back to the backend it
// began on (unless the fleet had committed to the new one), then RESUME.
func takeOver(cfg keeperConfig, committed bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := New(cfg.Spec)
	defer d.Close()
	if !committed {
		want := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.DBName)
		if cur, err := d.Backend(ctx); err == nil && cur != want {
			d.mu.Lock()
			_ = d.point(ctx, cfg.Host, cfg.Port, cfg.DBName)
			d.mu.Unlock()
		}
	}
	d.mu.Lock()
	_ = d.resume(ctx)
	d.mu.Unlock()
}

// keeper is the coordinator's end of a lease keeper.
type keeper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
}

// arm starts a keeper for the pause about to begin; db is the database's
// SHOW DATABASES row now.
func (d *Driver) arm(ctx context.Context, db map[string]string) error {
	port, _ := strconv.Atoi(db["port"])
	cfg := keeperConfig{Spec: d.spec, Lease: d.spec.Lease, Host: db["host"], Port: port, DBName: db["database"]}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), keeperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	armed := make(chan error, 1)
	go func() {
		// The admin DSN (and its password) goes over the pipe, never argv
		// or the environment.
		b, _ := json.Marshal(cfg)
		if _, err := in.Write(append(b, '\n')); err != nil {
			armed <- err
			return
		}
		l, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && l != "armed\n" {
			err = fmt.Errorf("unexpected answer %q", l)
		}
		armed <- err
	}()
	select {
	case err = <-armed:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = cmd.Process.Kill()
		go cmd.Wait()
		return err
	}
	d.keeper = &keeper{cmd: cmd, in: in}
	return nil
}

// tell sends the keeper a line; with "done" it also lets it go.
func (d *Driver) tell(line string) {
	k := d.keeper
	if k == nil {
		return
	}
	_, _ = io.WriteString(k.in, line+"\n")
	if line == "done" {
		_ = k.in.Close()
		go k.cmd.Wait()
		d.keeper = nil
	}
}

// errNoKeeper is returned when a pause cannot be protected.
var errNoKeeper = errors.New("cannot start the lease keeper")
