package lint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestBuiltinLists proves the embedded pg_catalog lists are what real
// servers of each major provide; -update-builtins regenerates them.
func TestBuiltinLists(t *testing.T) {
	ctx := context.Background()
	for _, major := range Majors {
		t.Run(fmt.Sprint(major), func(t *testing.T) {
			c := cluster(t, major)
			conn, err := c.Connect(ctx, "postgres")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			var version string
			if err := conn.QueryRow(ctx, "SELECT current_setting('server_version')").Scan(&version); err != nil {
				t.Fatal(err)
			}
			lines, err := ReadBuiltins(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("builtins", fmt.Sprintf("pg%d.txt", major))
			if *updateBuiltins {
				if err := os.WriteFile(path, FormatBuiltins(major, version, lines), 0o644); err != nil {
					t.Fatal(err)
				}
				return // the embedded copy is the old one until the next build
			}
			b, err := loadBuiltins(major)
			if err != nil {
				t.Fatal(err)
			}
			live := builtinsFromLines(lines)
			if !sameBuiltins(b, live) {
				t.Fatalf("builtins/pg%d.txt differs from a real %s server: run go test ./schema/lint -run TestBuiltinLists -update-builtins", major, version)
			}
			// Facts the linter relies on, straight from the server.
			for _, name := range []string{"lower", "jsonb_typeof", "nextval", "set_config"} {
				if !b.hasFunc(name, -1) {
					t.Errorf("pg%d: pg_catalog has no %s()", major, name)
				}
			}
			if !b.types["jsonb"] || !b.ops["?"] || !b.rels["pg_class"] {
				t.Errorf("pg%d: jsonb, ? or pg_class missing", major)
			}
		})
	}
	// A function new in 16 must be known to the 16 and 17 lists only:
	// the lists really differ by major.
	if *updateBuiltins {
		return
	}
	b13, _ := loadBuiltins(13)
	b16, _ := loadBuiltins(16)
	if b13 != nil && b16 != nil && (b13.hasFunc("any_value", 1) || !b16.hasFunc("any_value", 1)) {
		t.Errorf("any_value(): in 13 %v, in 16 %v; want false, true", b13.hasFunc("any_value", 1), b16.hasFunc("any_value", 1))
	}
}

func sameBuiltins(a, b *builtins) bool {
	if len(a.funcs) != len(b.funcs) || len(a.types) != len(b.types) || len(a.ops) != len(b.ops) || len(a.rels) != len(b.rels) {
		return false
	}
	for k, v := range a.funcs {
		w := b.funcs[k]
		if len(v) != len(w) {
			return false
		}
		for i := range v {
			if v[i] != w[i] {
				return false
			}
		}
	}
	for _, p := range [][2]map[string]bool{{a.types, b.types}, {a.ops, b.ops}, {a.rels, b.rels}} {
		for k := range p[0] {
			if !p[1][k] {
				return false
			}
		}
	}
	return true
}
