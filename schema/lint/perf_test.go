package lint

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the user+system CPU time of this process so far.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bigDump writes a pg_dump-style schema of about lines lines: per unit a
// PL/pgSQL function calling an unqualified helper, an SQL helper, a table
// whose CHECK calls the function, an expression index and a trigger.
func bigDump(lines int) (string, int) {
	var b strings.Builder
	b.WriteString("--\n-- PostgreSQL database dump\n--\n\\restrict K\n\nSET statement_timeout = 0;\n" +
		"SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n\n" +
		"CREATE SCHEMA app;\n\n")
	units := 0
	for strings.Count(b.String(), "\n") < lines { // cheap enough: ~1000 rounds
		i := units
		units++
		fmt.Fprintf(&b, `CREATE FUNCTION app.helper_%[1]d(v jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT v ? 'id' AND jsonb_typeof(v) = 'object' $$;

CREATE FUNCTION app.check_%[1]d(v jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
    AS $$
DECLARE
  n integer := 0;
  r record;
BEGIN
  IF v IS NULL THEN
    RETURN true;
  END IF;
  n := jsonb_array_length(COALESCE(v->'items', '[]'::jsonb));
  IF n > 100 THEN
    RAISE EXCEPTION 'too many items: %%', n;
  END IF;
  RETURN helper_%[1]d(v);
END
$$;

CREATE FUNCTION app.touch_%[1]d() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'app', 'pg_temp'
    AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

CREATE TABLE app.t_%[1]d (
    id bigint NOT NULL,
    payload jsonb,
    note text DEFAULT ''::text,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT t_%[1]d_payload_check CHECK (app.check_%[1]d(payload))
);

ALTER TABLE ONLY app.t_%[1]d
    ADD CONSTRAINT t_%[1]d_pkey PRIMARY KEY (id);

CREATE INDEX t_%[1]d_note_idx ON app.t_%[1]d USING btree (lower(note));

CREATE TRIGGER t_%[1]d_touch BEFORE UPDATE ON app.t_%[1]d FOR EACH ROW EXECUTE FUNCTION app.touch_%[1]d();

COMMENT ON TABLE app.t_%[1]d IS 'unit %[1]d';

`, i)
	}
	b.WriteString("\\unrestrict K\n")
	return b.String(), units
}

// TestLintLargeDump proves the budget: a 50,000-line schema dump
// lints in under 2 seconds, and every planted error is found.
func TestLintLargeDump(t *testing.T) {
	sql, units := bigDump(50000)
	if n := strings.Count(sql, "\n"); n < 50000 {
		t.Fatalf("generated %d lines", n)
	}
	runtime.GC()
	cpu0 := cpuTime(t)
	start := time.Now()
	res, err := LintFiles(context.Background(), []Input{{Name: "big.sql", SQL: sql}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wall, cpu := time.Since(start), cpuTime(t)-cpu0
	t.Logf("%d lines, %d units, %d functions: %d findings in %v wall, %v CPU (%d cores)",
		strings.Count(sql, "\n"), units, res.Functions, len(res.Findings), wall.Round(time.Millisecond), cpu.Round(time.Millisecond), runtime.GOMAXPROCS(0))
	if res.Errors() != units {
		t.Fatalf("got %d errors, want one PGV101 per unit (%d)", res.Errors(), units)
	}
	// Positions survive the parse being split into pieces.
	last := res.Findings[len(res.Findings)-1]
	needle := fmt.Sprintf("RETURN helper_%d(v)", units-1)
	i := strings.Index(sql, needle) + len("RETURN ")
	line, col := strings.Count(sql[:i], "\n")+1, i-strings.LastIndex(sql[:i], "\n")
	if last.Line != line || last.Col != col || last.Reference != fmt.Sprintf("helper_%d", units-1) {
		t.Fatalf("last finding %s %s at %d:%d, want %d:%d", last.Code, last.Reference, last.Line, last.Col, line, col)
	}
	// The budget is asserted on CPU time, the work the lint does: on a
	// shared 2-core CI box the wall clock mostly measures the neighbours.
	// CPU time is the sum over threads, so it bounds the wall time of an
	// idle machine from above.
	if cpu > 2*time.Second && !raceEnabled {
		t.Fatalf("linting a 50,000-line dump took %v of CPU, want < 2s", cpu)
	}
}

// TestSplitParseFallsBack: semicolons inside BEGIN ATOMIC bodies look like
// statement ends to the splitting lexer; a piece cut there does not parse,
// and the script is then parsed whole, with the same result.
func TestSplitParseFallsBack(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "CREATE FUNCTION public.a%d() RETURNS integer LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT %d;\nEND;\n\n", i, i)
	}
	b.WriteString("CREATE FUNCTION public.z() RETURNS integer LANGUAGE sql AS $$ SELECT missing() $$;\n")
	sql := b.String()
	before := wholeParses.Load()
	res, err := LintFiles(context.Background(), []Input{{Name: "atomic.sql", SQL: sql}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(sql, "missing()")
	want := fmt.Sprintf("PGV102 missing %d:%d", strings.Count(sql[:i], "\n")+1, i-strings.LastIndex(sql[:i], "\n"))
	if got := brief(res.Findings); len(got) != 1 || got[0] != want {
		t.Fatalf("got %q, want [%q]", got, want)
	}
	if runtime.GOMAXPROCS(0) > 1 && wholeParses.Load() == before {
		t.Errorf("the split parse did not fall back to a whole parse")
	}
}

func BenchmarkLint50kLines(b *testing.B) {
	sql, _ := bigDump(50000)
	b.SetBytes(int64(len(sql)))
	for i := 0; i < b.N; i++ {
		if _, err := LintFiles(context.Background(), []Input{{Name: "big.sql", SQL: sql}}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
