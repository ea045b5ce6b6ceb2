package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

func TestSchemaDiffBadInput(t *testing.T) {
	t.Setenv("PGVERIFY_SOURCE", "")
	t.Setenv("PGVERIFY_TARGET", "")
	cases := []struct {
		name  string
		args  []string
		want  string // in the first stderr line
		usage bool   // a usage hint follows
	}{
		{"no source", nil, "no source database: pass --source DSN or set PGVERIFY_SOURCE", true},
		{"no target", []string{"--source", "postgres://u@127.0.0.1:1/db"}, "no target database: pass --target DSN or set PGVERIFY_TARGET", true},
		{"bad format", []string{"--format", "xml"}, `unknown format "xml": use text|json|junit|markdown`, true},
		{"positional argument", []string{"db1"}, "unknown command", true},
		{"malformed source DSN", []string{"--source", "postgres://u:s3cret@h:notaport/db", "--target", "postgres://u@127.0.0.1:1/db"},
			"invalid source connection string", false},
		{"unreachable target", []string{"--source", "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=2", "--target", "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=2"},
			"cannot connect to", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(append([]string{"schema", "diff"}, c.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout should be empty, got %q", stdout)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if !strings.HasPrefix(lines[0], "pgverify: ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("first stderr line %q, want it to contain %q", lines[0], c.want)
			}
			if strings.Contains(stderr, "s3cret") {
				t.Errorf("stderr leaks the password: %q", stderr)
			}
			wantLines := 1
			if c.usage {
				wantLines = 2
			}
			if len(lines) != wantLines {
				t.Errorf("stderr has %d lines, want %d: %q", len(lines), wantLines, stderr)
			}
		})
	}
}

// cliSchema is a small schema with a contrib extension whose version
// differs between PG 13 (1.5) and PG 16 (1.7).
const cliSchema = `
CREATE EXTENSION btree_gist;
CREATE SCHEMA shop;
CREATE TABLE shop.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
    price numeric(10,2) CHECK (price >= 0), during tstzrange,
    EXCLUDE USING gist (id WITH =, during WITH &&));
CREATE VIEW shop.cheap AS SELECT i.id, i.name FROM shop.items i WHERE i.price < 10;
`

func TestSchemaDiffCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL 13 and 16 (run without -short)")
	}
	ctx := context.Background()
	start := func(major int) *pgcluster.Cluster {
		c, err := pgcluster.Start(ctx, pgcluster.Options{Major: major, Name: "cli-schemadiff"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop() })
		return c
	}
	src, dst := start(13), start(16)
	for _, c := range []*pgcluster.Cluster{src, dst} {
		for _, db := range []string{"clean", "changed"} {
			if err := c.CreateDB(ctx, db); err != nil {
				t.Fatal(err)
			}
			if err := c.Exec(ctx, db, cliSchema); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := dst.Exec(ctx, "changed", `ALTER TABLE shop.items ADD COLUMN sku text`); err != nil {
		t.Fatal(err)
	}

	t.Run("clean text exits 0", func(t *testing.T) {
		code, out, errs := runCLI("schema", "diff", "--source", src.DSN("clean"), "--target", dst.DSN("clean"))
		if code != 0 || errs != "" {
			t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
		}
		for _, want := range []string{"extension btree_gist", "version changed [notice]", "No schema differences; 1 notice."} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("clean JSON from the environment exits 0", func(t *testing.T) {
		t.Setenv("PGVERIFY_SOURCE", src.DSN("clean"))
		t.Setenv("PGVERIFY_TARGET", dst.DSN("clean"))
		code, out, errs := runCLI("schema", "diff", "--format", "json")
		if code != 0 || errs != "" {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		doc := decodeSchemaDiff(t, out)
		if doc.Summary.Errors != 0 || doc.Summary.Notices != 1 || len(doc.Differences) != 1 ||
			doc.Differences[0].Severity != "notice" || doc.Differences[0].Object != "btree_gist" {
			t.Errorf("unexpected report: %+v", doc)
		}
	})

	t.Run("difference exits 1", func(t *testing.T) {
		code, out, errs := runCLI("schema", "diff", "--source", src.DSN("changed"), "--target", dst.DSN("changed"), "--format", "json")
		if code != 1 || errs != "" {
			t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
		}
		doc := decodeSchemaDiff(t, out)
		var found bool
		for _, d := range doc.Differences {
			if d.ObjectType == "column" && d.Object == "shop.items.sku" && d.Kind == "extra" && d.Severity == "error" &&
				d.Source == nil && d.Target != nil && *d.Target == "text" {
				found = true
			}
		}
		if !found || doc.Summary.Errors != 1 {
			t.Errorf("want exactly the extra column shop.items.sku, got %+v", doc)
		}
	})

	t.Run("output file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "diff.txt")
		code, out, errs := runCLI("schema", "diff", "--source", src.DSN("changed"), "--target", dst.DSN("changed"), "-o", path)
		if code != 1 || out != "" || errs != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "column shop.items.sku\n  extra on target") || !strings.Contains(string(b), "1 difference, 1 notice.") {
			t.Errorf("report file:\n%s", b)
		}
	})

	t.Run("missing database exits 2", func(t *testing.T) {
		code, out, errs := runCLI("schema", "diff", "--source", src.DSN("clean"), "--target", dst.DSN("nosuchdb"))
		if code != 2 || out != "" {
			t.Fatalf("exit %d, stdout %q", code, out)
		}
		if !strings.Contains(errs, `database "nosuchdb" does not exist`) || strings.Count(errs, "\n") != 1 ||
			strings.Contains(errs, dst.Password) {
			t.Errorf("stderr %q", errs)
		}
	})
}

type schemaDiffJSON struct {
	Summary struct {
		Errors  int `json:"errors"`
		Notices int `json:"notices"`
	} `json:"summary"`
	Differences []struct {
		ObjectType string  `json:"object_type"`
		Object     string  `json:"object"`
		Kind       string  `json:"kind"`
		Attribute  string  `json:"attribute"`
		Severity   string  `json:"severity"`
		Source     *string `json:"source"`
		Target     *string `json:"target"`
	} `json:"differences"`
}

func decodeSchemaDiff(t *testing.T, s string) schemaDiffJSON {
	t.Helper()
	var doc schemaDiffJSON
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, s)
	}
	return doc
}
