package replicate

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgverify/pgverify/internal/dbconn"
)

// findTool resolves --pg-dump / psql.
func findTool(given, name string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("%s %s: %w", name, given, err)
		}
		return given, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found on PATH: install the PostgreSQL client (Debian: apt-get install postgresql-client) or pass --pg-dump PATH", name)
	}
	return p, nil
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)(\.\d+)?`)

// toolMajor runs `tool --version`.
func toolMajor(ctx context.Context, tool string) (int, string, error) {
	out, err := exec.CommandContext(ctx, tool, "--version").Output()
	if err != nil {
		return 0, "", fmt.Errorf("%s --version: %w", tool, err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return 0, "", fmt.Errorf("%s --version: cannot read the version from %q", tool, strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(m[1])
	return major, "pg_dump " + m[1] + m[2], nil
}

var kvPassword = regexp.MustCompile(`(?i)(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

// splitPassword returns the DSN without its password and the password, so
// the password travels in PGPASSWORD, never in a process's arguments.
func splitPassword(dsn string) (string, string) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn, ""
		}
		pw := ""
		if u.User != nil {
			pw, _ = u.User.Password()
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		if p := q.Get("password"); p != "" {
			pw = p
			q.Del("password")
			u.RawQuery = q.Encode()
		}
		return u.String(), pw
	}
	pw := ""
	if m := kvPassword.FindStringSubmatch(dsn); m != nil {
		pw = strings.Trim(m[2], "'")
		pw = strings.ReplaceAll(pw, `\'`, "'")
		dsn = kvPassword.ReplaceAllString(dsn, "$1")
	}
	return strings.TrimSpace(dsn), pw
}

func clientCmd(ctx context.Context, prog, dsn string, args ...string) *exec.Cmd {
	d, pw := splitPassword(dsn)
	cmd := exec.CommandContext(ctx, prog, append(args, "--dbname="+d)...)
	cmd.Env = os.Environ()
	if pw != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+pw)
	}
	cmd.Env = append(cmd.Env, "PGAPPNAME=pgverify", "PGOPTIONS=")
	return cmd
}

// pgDumpSchema returns pg_dump --schema-only of the source (replication
// plumbing left out: publications and subscriptions are made here).
func pgDumpSchema(ctx context.Context, pgDump, dsn string) (string, error) {
	cmd := clientCmd(ctx, pgDump, dsn, "--schema-only", "--no-publications", "--no-subscriptions")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, dbconn.Redact(firstLine(strings.TrimSpace(errb.String()))))
	}
	return out.String(), nil
}

// applySQL runs a script through psql in one transaction, stopping at the
// first error (psql understands pg_dump's \restrict lines).
func applySQL(ctx context.Context, psql, dsn, script string) error {
	cmd := clientCmd(ctx, psql, dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction")
	cmd.Stdin = strings.NewReader(script)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("psql: %w: %s", err, dbconn.Redact(firstLine(strings.TrimSpace(errb.String()))))
	}
	return nil
}
