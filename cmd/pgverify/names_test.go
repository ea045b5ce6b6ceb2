package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/report"
)

// A name printed by pgverify, in JSON or (escaped) in text, selects that
// very table when passed back; text output never carries the raw escape
// sequences a name holds; --exclude 'public.*' excludes names with a /.
func TestPrintedNamesSelectTheirTable(t *testing.T) {
	schema := `
		CREATE TABLE public."a/b" (id int PRIMARY KEY);
		CREATE TABLE public."a""b" (id int PRIMARY KEY);
		CREATE TABLE public."Order Items" (id int PRIMARY KEY);
		CREATE TABLE public."a*" (id int PRIMARY KEY);
		CREATE TABLE public.ab (id int PRIMARY KEY);
		CREATE TABLE public."x.y" (id int PRIMARY KEY);
		DO $$ BEGIN EXECUTE format('CREATE TABLE public.%I (id int PRIMARY KEY)', E'esc\x1b[31mred'); END $$;`
	src, dst := clusterPair(t, schema, "", false)
	s, d := src.DSN("app"), dst.DSN("app")
	code, stdout, stderr := runCLI("tables", "--format", "json", "--source", s, "--target", d)
	var doc struct {
		Tables []struct{ Table string }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || code != exitOK || len(doc.Tables) != 7 {
		t.Fatalf("exit %d, %v, %s%s", code, err, stdout, stderr)
	}
	for _, tb := range doc.Tables {
		for _, printed := range []string{tb.Table, report.Clean(tb.Table)} {
			code, stdout, stderr := runCLI("tables", "--format", "json", "--table", printed, "--source", s, "--target", d)
			var one struct {
				Tables []struct{ Table string }
			}
			if err := json.Unmarshal([]byte(stdout), &one); err != nil || code != exitOK || len(one.Tables) != 1 || one.Tables[0].Table != tb.Table {
				t.Errorf("--table %s: exit %d, %+v %v %s", printed, code, one.Tables, err, stderr)
			}
		}
	}
	code, stdout, _ = runCLI("tables", "--source", s, "--target", d)
	if code != exitOK || strings.Contains(stdout, "\x1b") || !strings.Contains(stdout, `public."esc\x1b[31mred"`) {
		t.Errorf("text report: exit %d\n%s", code, stdout)
	}
	// --exclude 'public.*' leaves nothing, / or not.
	if code, _, stderr := runCLI("tables", "--exclude", "public.*", "--source", s, "--target", d); code != exitError ||
		!strings.Contains(stderr, "excluded all 7 table(s)") {
		t.Errorf("--exclude public.*: exit %d %s", code, stderr)
	}
}
