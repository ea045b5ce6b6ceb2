package preflight

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// pf017Pinned: check_id() and id_ok() are reached from the CHECK only
// through valid(), which pins search_path = public: they run with it and
// resolve. bad() is reached through app.wrong(), whose path (app) lacks
// public's id_ok.
const pf017Pinned = `
CREATE SCHEMA app;
CREATE FUNCTION public.id_ok(i int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT i > 0 $$;
CREATE FUNCTION public.check_id(i int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN id_ok(i); END $$;
CREATE FUNCTION public.valid(i int) RETURNS boolean LANGUAGE sql IMMUTABLE SET search_path = public AS $$ SELECT check_id(i) $$;
CREATE TABLE public.orders (id int PRIMARY KEY CHECK (public.valid(id)));
CREATE FUNCTION public.bad(i int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN id_ok(i); END $$;
CREATE FUNCTION app.wrong(i int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE SET search_path = app AS $$ BEGIN RETURN public.bad(i); END $$;
CREATE TABLE public.other (id int PRIMARY KEY CHECK (app.wrong(id)));
`

// TestPF017PinnedCaller: functions reached only through a caller that pins
// search_path are judged with that path (issue #12 item 6), on PG 13 and 16.
func TestPF017PinnedCaller(t *testing.T) {
	needPG(t)
	for _, major := range []int{13, 16} {
		t.Run(fmt.Sprintf("PG%d", major), func(t *testing.T) {
			c := clusters.get(t, "main", major)
			db := clusters.newDB(t, c, pf017Pinned)
			// What the rule predicts, on the real server: the first works
			// under the caller's pinned path, the second does not.
			exec(t, c, db, "INSERT INTO public.orders VALUES (1)")
			if err := c.Exec(context.Background(), db, "INSERT INTO public.other VALUES (1)"); err == nil ||
				!strings.Contains(err.Error(), "function id_ok(integer) does not exist") {
				t.Fatalf("insert into other: %v, want id_ok() not to resolve", err)
			}
			res := run(t, connect(t, c, db, "source"), nil, Options{})
			f, ok := find(res, "PF017", SideSource, "unqualified")
			if !ok || f.Severity != Critical || !hasObject(f, "public.bad(integer)") {
				t.Fatalf("PF017 does not report public.bad:\n%s", dump(res))
			}
			for _, o := range []string{"public.check_id(integer)", "public.id_ok(integer)", "public.valid(integer)"} {
				if hasObject(f, o) {
					t.Errorf("PF017 reports %s, which runs with its caller's pinned path: %v", o, f.Objects)
				}
			}
		})
	}
}
