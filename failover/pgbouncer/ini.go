package pgbouncer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// RewriteDatabase returns ini with the connection string of database db in
// the [databases] section pointing at host, port and dbname. Only those
// three values change; every other byte (comments, order, spacing, other
// keys such as user= or pool_size=) stays as it was. Keys the entry lacks
// are appended to it.
func RewriteDatabase(ini []byte, db, host string, port int, dbname string) ([]byte, error) {
	lines := bytes.SplitAfter(ini, []byte("\n"))
	section := ""
	for n, raw := range lines {
		line := strings.TrimRight(string(raw), "\r\n")
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			section = strings.ToLower(strings.TrimSpace(t[1 : len(t)-1]))
			continue
		}
		if section != "databases" || t == "" || t[0] == ';' || t[0] == '#' {
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			continue
		}
		name := strings.TrimSpace(line[:eq])
		if unq, err := strconv.Unquote(name); err == nil && strings.HasPrefix(name, `"`) {
			name = unq
		}
		if name != db {
			continue
		}
		val, err := rewriteConnstr(line[eq+1:], map[string]string{"host": host, "port": strconv.Itoa(port), "dbname": dbname})
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		lines[n] = []byte(line[:eq+1] + val + string(raw[len(line):]))
		return bytes.Join(lines, nil), nil
	}
	return nil, fmt.Errorf("no entry for database %q in its [databases] section", db)
}

// rewriteConnstr replaces the values of the given keys in a libpq-style
// key=value list (values bare or single-quoted with \-escapes), keeping
// everything else, and appends the keys it lacks.
func rewriteConnstr(s string, set map[string]string) (string, error) {
	type span struct{ from, to int }
	found := map[string]span{}
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := s[ks:i]
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			return "", fmt.Errorf("cannot read %q as key=value pairs", strings.TrimSpace(s))
		}
		i++
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		vs := i
		if i < len(s) && s[i] == '\'' {
			i++
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(s) {
				return "", fmt.Errorf("unterminated quote in %q", strings.TrimSpace(s))
			}
			i++
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				i++
			}
		}
		if _, ok := set[key]; ok {
			found[key] = span{vs, i}
		}
	}
	// Replace from the end so earlier spans stay valid.
	type rep struct {
		span
		v string
	}
	var reps []rep
	for k, sp := range found {
		reps = append(reps, rep{sp, quoteValue(set[k])})
	}
	for a := 0; a < len(reps); a++ {
		for b := a + 1; b < len(reps); b++ {
			if reps[b].from > reps[a].from {
				reps[a], reps[b] = reps[b], reps[a]
			}
		}
	}
	out := s
	for _, r := range reps {
		out = out[:r.from] + r.v + out[r.to:]
	}
	trail := len(out) - len(strings.TrimRight(out, " \t"))
	body, tail := out[:len(out)-trail], out[len(out)-trail:]
	for _, k := range []string{"host", "port", "dbname"} {
		if _, ok := found[k]; !ok {
			body += " " + k + "=" + quoteValue(set[k])
		}
	}
	return body + tail, nil
}

func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// replaceFile writes data to path atomically (temp file in the same
// directory, then rename), with the old file's mode and, as root, owner.
func replaceFile(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pgverify-ini-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		_ = tmp.Chown(int(st.Uid), int(st.Gid))
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
