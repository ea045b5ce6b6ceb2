package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTablesCLI(t *testing.T) {
	src, dst := clusterPair(t,
		`CREATE TABLE accounts (id bigint PRIMARY KEY, nick text, balance numeric);
		 CREATE TABLE "Order Items" (order_id int, line int, sku text, PRIMARY KEY (order_id, line))`,
		`INSERT INTO accounts SELECT g, 'n' || g, g * 1.5 FROM generate_series(1, 3000) g;
		 INSERT INTO "Order Items" SELECT g / 3, g % 3, 's' || g FROM generate_series(1, 3000) g`, true)
	ctx := context.Background()
	S, T := src.DSN("app"), dst.DSN("app")

	t.Run("identical gives exit 0", func(t *testing.T) {
		code, out, errs := runCLI("tables", "--source", S, "--target", T)
		if code != 0 || !strings.Contains(out, "equal: 2 table(s), 6000 row(s) verified") {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		if errs != "" {
			t.Errorf("stderr not empty when not a terminal: %q", errs)
		}
	})

	t.Run("env DSNs and JSON", func(t *testing.T) {
		t.Setenv("PGVERIFY_SOURCE", S)
		t.Setenv("PGVERIFY_TARGET", T)
		code, out, _ := runCLI("tables", "--format", "json", "--table", `public."Order Items"`)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		tables := doc["tables"].([]any)
		first := tables[0].(map[string]any)
		if len(tables) != 1 || first["table"] != `public."Order Items"` || first["status"] != "match" || first["rows_source"].(float64) != 3000 {
			t.Errorf("unexpected JSON: %s", out)
		}
		if doc["summary"].(map[string]any)["verdict"] != "equal" {
			t.Errorf("verdict: %s", out)
		}
	})

	// Damage the target.
	if err := dst.Exec(ctx, "app", `UPDATE accounts SET nick = 'x' WHERE id = 10; DELETE FROM accounts WHERE id = 20;
		INSERT INTO accounts VALUES (99999, 'extra', 0); UPDATE "Order Items" SET sku = NULL WHERE order_id = 5 AND line = 1`); err != nil {
		t.Fatal(err)
	}

	t.Run("differences give exit 1 and name the rows", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "report.json")
		code, out, errs := runCLI("tables", "--source", S, "--target", T, "--format", "json", "-o", file, "--rechecks", "1")
		if code != 1 || out != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Tables []struct {
				Table       string
				Status      string
				Differences []struct {
					Kind    string
					Key     map[string]string
					Columns []string
				}
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, tb := range doc.Tables {
			for _, d := range tb.Differences {
				k, _ := json.Marshal(d.Key)
				got[tb.Table+" "+string(k)] = d.Kind + " " + strings.Join(d.Columns, ",")
			}
		}
		want := map[string]string{
			`public.accounts {"id":"10"}`:                      "changed nick",
			`public.accounts {"id":"20"}`:                      "missing ",
			`public.accounts {"id":"99999"}`:                   "extra ",
			`public."Order Items" {"line":"1","order_id":"5"}`: "changed sku",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %q want %q (all: %v)", k, got[k], v, got)
			}
		}
		if len(got) != len(want) {
			t.Errorf("got %d differences, want %d: %v", len(got), len(want), got)
		}
		// Key order in JSON follows the key columns, not the alphabet.
		if !strings.Contains(string(b), `"order_id": "5",`) {
			t.Errorf("composite key not in column order:\n%s", b)
		}
	})

	t.Run("junit and markdown for CI", func(t *testing.T) {
		code, out, errs := runCLI("tables", "--source", S, "--target", T, "--format", "junit", "--rechecks", "1")
		if code != 1 {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		var doc struct {
			Suites []struct {
				Tests    int `xml:"tests,attr"`
				Failures int `xml:"failures,attr"`
				Cases    []struct {
					Name    string `xml:"name,attr"`
					Failure *struct {
						Text string `xml:",chardata"`
					} `xml:"failure"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal([]byte(out), &doc); err != nil || len(doc.Suites) != 1 {
			t.Fatalf("%v\n%s", err, out)
		}
		s := doc.Suites[0]
		if s.Tests != 2 || s.Failures != 2 || s.Cases[1].Name != "public.accounts" || s.Cases[1].Failure == nil ||
			!strings.Contains(s.Cases[1].Failure.Text, "changed id=10  columns: nick") {
			t.Errorf("junit:\n%s", out)
		}
		code, out, _ = runCLI("tables", "--source", S, "--target", T, "--format", "markdown", "--rechecks", "1")
		if code != 1 || !strings.HasPrefix(out, "### ❌ pgverify tables: different\n") || !strings.Contains(out, "missing id=20\n") {
			t.Errorf("exit %d, markdown:\n%s", code, out)
		}
	})

	t.Run("text report lists the rows", func(t *testing.T) {
		code, out, _ := runCLI("tables", "--source", S, "--target", T, "--rechecks", "0")
		for _, want := range []string{"missing  id=20", "extra    id=99999", "changed  id=10  columns: nick", "different: 2 of 2 table(s) differ"} {
			if !strings.Contains(out, want) {
				t.Errorf("text report lacks %q:\n%s", want, out)
			}
		}
		if code != 1 {
			t.Errorf("exit %d", code)
		}
	})

	t.Run("permission denied is one line and exit 2", func(t *testing.T) {
		if err := src.Exec(ctx, "app", `CREATE ROLE reader LOGIN PASSWORD 'rpw'; GRANT SELECT ON accounts TO reader`); err != nil {
			t.Fatal(err)
		}
		if err := dst.Exec(ctx, "app", `CREATE ROLE reader LOGIN PASSWORD 'rpw'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader`); err != nil {
			t.Fatal(err)
		}
		rs := strings.Replace(S, "postgres:"+src.Password, "reader:rpw", 1)
		rt := strings.Replace(T, "postgres:"+dst.Password, "reader:rpw", 1)
		code, out, errs := runCLI("tables", "--source", rs, "--target", rt, "--rechecks", "0")
		if code != 1 { // accounts differs, "Order Items" cannot be read: differences win
			t.Errorf("exit %d, want 1:\n%s\n%s", code, out, errs)
		}
		if !strings.Contains(out, `public."Order Items": could not verify:`) || !strings.Contains(out, `permission denied for table Order Items`) ||
			!strings.Contains(out, "GRANT SELECT") {
			t.Errorf("permission error not explained:\n%s", out)
		}
		code, _, errs = runCLI("tables", "--source", rs, "--target", rt, "--table", `public."Order Items"`)
		if code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		assertOneLine(t, errs, "could not verify 1 of 1 table(s)", false, "rpw")
	})

	bad := []struct {
		name  string
		args  []string
		want  string
		usage bool // bad usage is followed by the --help hint
		pw    string
	}{
		{"no source", []string{"--target", T}, "no source database: pass --source DSN or set PGVERIFY_SOURCE", true, ""},
		{"malformed DSN", []string{"--source", "postgres://u:sekret@host:notaport/db", "--target", T}, "invalid source connection string", false, "sekret"},
		{"unreachable", []string{"--source", "postgres://u:sekret@127.0.0.1:1/db", "--target", T}, "cannot connect to source u@127.0.0.1:1/db: connection refused", false, "sekret"},
		{"bad password", []string{"--source", strings.Replace(S, src.Password, "wrongpw", 1), "--target", T}, `authentication failed for user "postgres"`, false, "wrongpw"},
		{"no database", []string{"--source", strings.Replace(S, "/app?", "/nope?", 1), "--target", T}, `database "nope" does not exist`, false, src.Password},
		{"unknown table", []string{"--source", S, "--target", T, "--table", "public.nope"}, "no table matches --table public.nope", false, ""},
		{"bad jobs", []string{"--source", S, "--target", T, "--jobs", "0"}, "--jobs must be between 1 and 64", true, ""},
		{"bad format", []string{"--source", S, "--target", T, "--format", "xml"}, `unknown format "xml": use text|json|junit|markdown`, true, ""},
		{"bad pattern", []string{"--source", S, "--target", T, "--table", "[x"}, `bad table pattern "[x"`, true, ""},
	}
	for _, b := range bad {
		t.Run("bad input: "+b.name, func(t *testing.T) {
			code, out, errs := runCLI(append([]string{"tables"}, b.args...)...)
			if code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q", code, out)
			}
			assertOneLine(t, errs, b.want, b.usage, b.pw)
		})
	}
}
