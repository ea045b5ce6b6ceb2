package diff

import (
	"encoding/json"
	"strings"
	"testing"
)

// Unit tests of Compare on hand-built catalogs; the integration tests in
// diff_test.go cover the same paths against real servers.

func testCatalog(t *testing.T, side string, major int, objs ...[3]string) *Catalog {
	t.Helper()
	c := &Catalog{Side: side, Server: Server{Version: "x", VersionNum: major * 10000}, Objects: map[string]*Object{}}
	for _, o := range objs {
		var parents []string
		if o[1] != "" {
			parents = strings.Split(o[1], ",")
		}
		typ, name, _ := strings.Cut(o[0], ":")
		if err := c.add(&Object{Type: typ, Name: name, Parents: parents}, []byte(o[2])); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestCompareParseFallbackNote(t *testing.T) {
	src := testCatalog(t, "source", 13,
		[3]string{"view:app.v", "", `{"definition": "SELECT 1 AS a;"}`},
		[3]string{"view:app.same", "", `{"definition": "SELEKT same nonsense"}`})
	dst := testCatalog(t, "target", 16,
		[3]string{"view:app.v", "", `{"definition": "SELEKT 1 AS a;"}`},
		[3]string{"view:app.same", "", `{"definition": "SELEKT same nonsense"}`})
	res := Compare(src, dst, Options{})
	if len(res.Differences) != 1 || res.Differences[0].Object != "app.v" || res.Differences[0].Attribute != "definition" {
		t.Fatalf("differences: %+v", res.Differences)
	}
	// Identical text is equal without parsing, so only app.v has a note.
	if len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], "target: definition of view app.v could not be parsed") {
		t.Errorf("notes: %q", res.Notes)
	}
}

func TestCompareSuppressesChildrenOfMissing(t *testing.T) {
	src := testCatalog(t, "source", 16,
		[3]string{"schema:s", "", `{}`},
		[3]string{"table:s.t", "schema s", `{"kind": "table", "columns": ["a", "b"]}`},
		[3]string{"column:s.t.a", "table s.t", `{"type": "integer", "typmod": "integer"}`},
		[3]string{"table:s.u", "schema s", `{"kind": "table", "columns": ["a", "b", "c"]}`},
		[3]string{"column:s.u.c", "table s.u", `{"type": "text", "typmod": "text"}`})
	dst := testCatalog(t, "target", 16,
		[3]string{"schema:s", "", `{}`},
		// b moved after the new column x: the common columns a, b keep
		// their order, so no column-order change; c is missing.
		[3]string{"table:s.u", "schema s", `{"kind": "table", "columns": ["a", "x", "b"]}`})
	res := Compare(src, dst, Options{})
	var got []string
	for _, d := range res.Differences {
		got = append(got, d.ObjectType+" "+d.Object+" "+string(d.Kind))
	}
	want := []string{"table s.t missing", "column s.u.c missing"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCompareColumnOrder(t *testing.T) {
	src := testCatalog(t, "source", 16, [3]string{"table:s.t", "", `{"columns": ["a", "b", "c"]}`})
	dst := testCatalog(t, "target", 16, [3]string{"table:s.t", "", `{"columns": ["a", "c", "b"]}`})
	res := Compare(src, dst, Options{})
	if len(res.Differences) != 1 || res.Differences[0].Attribute != "column order" ||
		*res.Differences[0].Source != "a, b, c" || *res.Differences[0].Target != "a, c, b" {
		t.Errorf("differences: %+v", res.Differences)
	}
}

func TestCompareACL(t *testing.T) {
	acl := func(items ...[4]any) string {
		b, _ := json.Marshal(map[string]any{"owner": "o", "acl": items})
		return string(b)
	}
	owner := func(p string) [4]any { return [4]any{"(owner)", "(owner)", p, false} }
	src := testCatalog(t, "source", 13, [3]string{"table:s.t", "",
		acl(owner("SELECT"), owner("INSERT"), [4]any{"r", "(owner)", "SELECT", false})})
	// PG 17 adds MAINTAIN to the owner's default: not a difference against
	// PG 13. The grant to r gained the grant option: a difference.
	dst := testCatalog(t, "target", 17, [3]string{"table:s.t", "",
		acl(owner("SELECT"), owner("INSERT"), owner("MAINTAIN"), [4]any{"r", "(owner)", "SELECT", true})})
	if res := Compare(src, dst, Options{}); len(res.Differences) != 0 {
		t.Errorf("ACLs compared without --privileges: %+v", res.Differences)
	}
	res := Compare(src, dst, Options{Privileges: true})
	if len(res.Differences) != 1 {
		t.Fatalf("differences: %+v", res.Differences)
	}
	d := res.Differences[0]
	if d.Attribute != "acl" || *d.Source != "r: SELECT (granted by (owner))" || *d.Target != "r: SELECT* (granted by (owner))" {
		t.Errorf("acl difference: %s / %s", deref(d.Source), deref(d.Target))
	}
}
