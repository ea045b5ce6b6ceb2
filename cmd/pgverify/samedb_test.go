package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

// Source = target, even through different DSN text, is bad input for every
// command that takes both: it verifies nothing, and sequences --sync would
// write to the source the README promises is read-only.
func TestSameDatabaseRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Postgres")
	}
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Major: 16, Name: "clisame"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	for _, db := range []string{"app", "other"} {
		if err := c.CreateDB(ctx, db); err != nil {
			t.Fatal(err)
		}
		if err := c.Exec(ctx, db, `CREATE TABLE public.orders (id serial PRIMARY KEY, v text);
			INSERT INTO public.orders (v) VALUES ('a'), ('b');
			INSERT INTO public.orders (id, v) VALUES (100, 'explicit');`); err != nil {
			t.Fatal(err)
		}
	}
	url := c.DSN("app")
	kv := fmt.Sprintf("host=localhost port=%d user=postgres password=%s dbname=app sslmode=disable", c.Port, c.Password)
	for _, args := range [][]string{
		{"tables"},
		{"sample"},
		{"sequences", "--sync"},
		{"watermark", "-t", "public.orders", "-c", "id"},
		{"schema", "diff"},
		{"preflight"},
	} {
		for _, target := range []string{url, kv} {
			full := append(append([]string{}, args...), "--source", url, "--target", target)
			code, stdout, stderr := runCLI(full...)
			if code != exitError {
				t.Errorf("%v: exit %d, want 2\n%s", args, code, stdout)
			}
			assertOneLine(t, stderr, "source and target are the same database (system identifier ", false, c.Password)
		}
	}
	// --sync did not move the source's sequence.
	if v, _ := seqCLIValue(t, c, "public.orders_id_seq"); v != 2 {
		t.Errorf("sequences --sync wrote to the source: last_value %d", v)
	}
	// Another database of the same cluster is a different database.
	if code, _, stderr := runCLI("sequences", "--source", url, "--target", c.DSN("other")); code == exitError {
		t.Errorf("two databases of one cluster refused: %s", stderr)
	}
}
