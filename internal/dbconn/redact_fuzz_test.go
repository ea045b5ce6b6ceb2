package dbconn

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// dsnForms renders one connection in every way a user may write it: a URL
// with the password as typed (an unencoded @ included) and percent-encoded,
// and key/value with the password quoted and unquoted-with-escapes.
func dsnForms(user, password, host, db string) []string {
	enc := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: host, Path: "/" + db}
	quoted := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(password) + "'"
	var unq strings.Builder
	for _, r := range password {
		if r == '\\' || r == '\'' || unicode.IsSpace(r) {
			unq.WriteByte('\\')
		}
		unq.WriteRune(r)
	}
	return []string{
		"postgres://" + user + ":" + password + "@" + host + "/" + db,
		enc.String(),
		"postgresql://" + user + ":" + password + "@" + host + "/" + db + "?sslmode=disable&application_name=x",
		"host=" + host + " user=" + user + " password=" + quoted + " dbname=" + db,
		"host=" + host + " password = " + quoted,
		"dbname=" + db + " password=" + unq.String() + " host=" + host,
		"postgres://" + host + "/" + db + "?password=" + strings.ReplaceAll(url.QueryEscape(password), "+", "%20") + "&sslmode=disable",
	}
}

// plain is what user, host and database names look like in a DSN the
// forms above can carry unencoded.
func plain(s string, extra string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`:@/?#&='\"%`+extra, r) {
			return false
		}
	}
	return true
}

// FuzzRedact: no input can make a password appear in what Redact returns.
// Stronger than "the password is not a substring" (which a one-letter
// password fails by chance): the output must not depend on the password at
// all, for any text around the DSN.
//
//	go test ./internal/dbconn -run '^$' -fuzz FuzzRedact -fuzztime 20s
func FuzzRedact(f *testing.F) {
	for _, s := range [][6]string{
		{"bob", "s3cret", "db:5432", "app", "cannot connect: ", ""},
		{"bob", "x", "db", "app", "", " failed"},
		{"bob", "p@ss", "db", "app", "dsn ", ""},
		{"bob", "p@ss@word", "h1,h2:5433", "app", "", ""},
		{"u", "a b'c\\d", "127.0.0.1", "postgres", "error in `", "`: bad"},
		{"u", "%40%zz", "db", "app", "", ""},
		{"svc", "password=again", "db", "app", "PGPASSWORD=", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	f.Fuzz(func(t *testing.T, user, password, host, db, before, after string) {
		if !plain(user, "") || !plain(host, "") || !plain(db, "") || password == "" || !utf8.ValidString(password) ||
			!utf8.ValidString(before) || !utf8.ValidString(after) {
			t.Skip()
		}
		// The text around a DSN is free, except that it is separated from
		// it, as in every message pgverify builds.
		before, after = before+" ", " "+after
		other := "Q"
		if password == other {
			other = "R"
		}
		forms, others := dsnForms(user, password, host, db), dsnForms(user, other, host, db)
		for i, dsn := range forms {
			raw := i == 0 || i == 2
			if raw && strings.ContainsFunc(password, unicode.IsSpace) {
				continue // a URL cannot hold a raw space: pgx refuses it
			}
			got := Redact(before + dsn + after)
			want := Redact(before + others[i] + after)
			if got != want {
				t.Fatalf("the output depends on the password %q:\n in   %q\n out  %q\n with %q instead: %q", password, dsn, got, other, want)
			}
			// Where pgx reads the DSN, it reads this very password: the
			// forms are real DSNs, not strings that merely look like one.
			// (pgx splits a raw URL at its first @, a browser at its last:
			// Redact hides everything up to the last.)
			if cfg, err := pgx.ParseConfig(dsn); err == nil && !raw && cfg.Password != password && !strings.Contains(password, "\x00") {
				t.Fatalf("pgx reads password %q from %q, want %q", cfg.Password, dsn, password)
			}
		}
	})
}
