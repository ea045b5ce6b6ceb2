package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/report"
)

func TestWatermarkCLI(t *testing.T) {
	src, dst := clusterPair(t, `
		CREATE TABLE public.transactions (id bigserial PRIMARY KEY,
			created_at timestamptz NOT NULL DEFAULT clock_timestamp(), note text);
		CREATE TABLE public.events (id bigint PRIMARY KEY, at timestamp NOT NULL, p point);`,
		`INSERT INTO public.transactions (created_at) SELECT timestamptz '2025-03-01 12:00:00+00' + g * interval '1 ms' FROM generate_series(1, 100) g;
		 INSERT INTO public.events SELECT g, timestamp '2025-01-01' + g * interval '1 day', NULL FROM generate_series(1, 40) g;`, true)
	conn := []string{"--source", src.DSN("app"), "--target", dst.DSN("app")}
	wm := func(args ...string) (int, string, string) {
		return runCLI(append(append([]string{"watermark"}, conn...), args...)...)
	}

	t.Run("match", func(t *testing.T) {
		code, out, errs := wm("-t", "public.transactions", "-c", "id", "-t", "public.events", "-c", "at")
		if code != 0 || errs != "" {
			t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
		}
		for _, want := range []string{"public.transactions │ id", "│ 100 ", "2025-02-10 00:00:00", "match: 2 of 2 table(s)", "confirmed by slot cli"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("json and env", func(t *testing.T) {
		t.Setenv("PGVERIFY_SOURCE", src.DSN("app"))
		t.Setenv("PGVERIFY_TARGET", dst.DSN("app"))
		code, out, errs := runCLI("watermark", "--table", "public.*", "--exclude", "public.events", "--column", "created_at", "--format", "json")
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		var doc report.WatermarkJSON
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if doc.Summary.Verdict != "match" || len(doc.Tables) != 1 {
			t.Fatalf("doc %+v", doc)
		}
		tr := doc.Tables[0]
		if tr.Table != "public.transactions" || tr.Column != "created_at" || *tr.Watermark != "2025-03-01 12:00:00.1+00" ||
			tr.SourceRows != 100 || *tr.TargetRows != 100 || tr.Status != "match" || tr.Type != "timestamp with time zone" {
			t.Errorf("table %+v", tr)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			args  []string
			want  string
			usage bool
		}{
			{[]string{"-t", "public.nope", "-c", "id"}, "table public.nope not found on source", false},
			{[]string{"-t", "public.transactions", "-c", "nope"}, "column nope not found in table public.transactions on source", false},
			{[]string{"-t", "public.events", "-c", "p"}, "has no ordering", false},
			{[]string{"-c", "id"}, "--table is required", true},
			{[]string{"-t", "public.transactions"}, "--column is required", true},
			{[]string{"-t", "a", "-t", "b", "-t", "c", "-c", "x", "-c", "y"}, "got 3 --table and 2 --column", true},
			{[]string{"-t", "public.transactions", "-c", "id", "--timeout", "0s"}, "--timeout must be positive", true},
			{[]string{"-t", "public.transactions", "-c", "id", "--format", "xml"}, `unknown format "xml"`, true},
		} {
			code, out, errs := wm(c.args...)
			if code != 2 || out != "" {
				t.Errorf("%v: exit %d, stdout %q", c.args, code, out)
			}
			assertOneLine(t, errs, c.want, c.usage, "")
		}
		code, _, errs := runCLI("watermark", "--source", strings.Replace(src.DSN("app"), src.Password, "wrong", 1), "--target", dst.DSN("app"), "-t", "x", "-c", "id")
		if code != 2 || strings.Contains(errs, src.Password) || strings.Contains(errs, "wrong") {
			t.Errorf("bad password: exit %d, %q", code, errs)
		}
		assertOneLine(t, errs, "authentication failed", false, "")
	})

	t.Run("mismatch", func(t *testing.T) {
		execSQL(t, dst, `DELETE FROM public.transactions WHERE id = 42`)
		code, out, errs := wm("-t", "public.transactions", "-t", "public.events", "-c", "id")
		if code != 1 || errs != "" {
			t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
		}
		for _, want := range []string{"│ 99 ", "mismatch", "1 rows fewer than the source with id <= 100", "mismatch: 1 of 2 table(s)"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("timeout", func(t *testing.T) {
		execSQL(t, dst, `ALTER SUBSCRIPTION cli DISABLE`)
		execSQL(t, src, `INSERT INTO public.events VALUES (41, now(), NULL)`)
		code, out, errs := wm("-t", "public.events", "-c", "id", "--timeout", "1s")
		if code != 2 || !strings.Contains(out, "unverified: 1 of 1") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		assertOneLine(t, errs, "could not verify 1 of 1 table(s): public.events (id): the target has no row with id >= 41 after 1s", false, "")
	})
}
