package lint

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzLint: no SQL or PL/pgSQL text may crash the linter. Whatever the
// input, LintFiles returns a result or a *ParseError (a script Postgres'
// parser rejects), and a function body it cannot analyze is a finding.
// `make test` runs it for a bounded time; the seed corpus is in
// testdata/fuzz/FuzzLint.
func FuzzLint(f *testing.F) {
	for _, s := range []string{
		"CREATE FUNCTION f(x jsonb) RETURNS bool LANGUAGE sql AS $$ SELECT g(x) $$;",
		"CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN h(); END $$; CREATE TABLE t (a int CHECK (g() > 0));",
		"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO log SELECT * FROM newrows; RETURN NULL; END $$;",
		"CREATE PROCEDURE p(c refcursor) LANGUAGE plpgsql AS $$ BEGIN OPEN c FOR SELECT 1; END $$;",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
		"CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);",
		"SET search_path = ''; CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql SET search_path = public AS $$ BEGIN EXECUTE 'select 1'; RETURN 1; END $$;",
		"$$", "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN $$;", "\x00", "-- pgverify:ignore PGV101\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, asBody bool) {
		sql := text
		if asBody {
			// The text as a PL/pgSQL body reachable from a CHECK constraint.
			sql = "CREATE FUNCTION fz(x int) RETURNS bool LANGUAGE plpgsql AS $fz$" + text + "$fz$;\nCREATE TABLE fzt (a int CHECK (fz(a)));"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := LintFiles(ctx, []Input{{Name: "fuzz.sql", SQL: sql}}, Options{})
		var pe *ParseError
		switch {
		case err == nil && res == nil:
			t.Fatal("no result and no error")
		case err != nil && !errors.As(err, &pe) && ctx.Err() == nil:
			t.Fatalf("error that is not a parse error: %v", err)
		}
	})
}
