package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pgverify/pgverify/schema/diff"
	"github.com/pgverify/pgverify/schema/lint"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"public.orders":         "public.orders",
		`public."a\b"`:          `public."a\b"`,
		"a\x1b[2Jb":             `a\x1b[2Jb`,
		"line\nbreak\ttab\r":    `line\nbreak\ttab\r`,
		"c1\u009bx del\x7f":     `c1\u009bx del\x7f`,
		"bidi\u202eevil\u2066":  `bidi\u202eevil\u2066`,
		"bad\xffutf8":           `bad\xffutf8`,
		"é ünïcode 表 \ufffd ok": "é ünïcode 表 \ufffd ok",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
	if got := cleanText("\tindented\x1b"); got != "\tindented\\x1b" {
		t.Errorf("cleanText kept %q", got)
	}
}

// evil is what a hostile name or value may hold: an ANSI sequence, a bidi
// override, a line that forges a verdict, a bell, a C1 CSI, invalid UTF-8.
const evil = "\x1b[31m\u202e\r\nequal: forged\x07\u009b\xff"

// poison appends evil to every plain string (and *string) in v.
func poison(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if v.Elem().Kind() == reflect.String && v.Elem().Type() == reflect.TypeOf("") && v.Elem().CanSet() {
			v.Elem().SetString(v.Elem().String() + evil)
			return
		}
		poison(v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				poison(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			poison(v.Index(i))
		}
	case reflect.String:
		if v.Type() == reflect.TypeOf("") && v.CanSet() {
			v.SetString(v.String() + evil)
		}
	}
}

// Every text renderer escapes what comes from the database: no control
// character but its own newlines reaches the terminal, and no value can
// start a line of its own.
func TestTextReportsEscapeControlCharacters(t *testing.T) {
	src, tgt := "create view v as select 1\x1b]0;pwned\x07", "create view v as\n\tselect 2"
	renders := map[string]func(*bytes.Buffer) error{
		"tables": func(b *bytes.Buffer) error {
			r := tablesFixture()
			poison(reflect.ValueOf(r))
			return Tables(b, Text, r)
		},
		"sample": func(b *bytes.Buffer) error {
			r := sampleFixture()
			poison(reflect.ValueOf(r))
			return Sample(b, Text, r)
		},
		"sequences": func(b *bytes.Buffer) error {
			r := sequencesFixture(true)
			poison(reflect.ValueOf(r))
			return Sequences(b, Text, r)
		},
		"watermark": func(b *bytes.Buffer) error {
			r := watermarkFixture()
			poison(reflect.ValueOf(r))
			return Watermark(b, Text, r)
		},
		"preflight": func(b *bytes.Buffer) error {
			r := preflightFixture()
			poison(reflect.ValueOf(r))
			return Preflight(b, Text, r)
		},
		"schema diff": func(b *bytes.Buffer) error {
			r := &diff.Result{Source: diff.Server{Version: "13.1"}, Target: diff.Server{Version: "16.1"},
				Differences: []diff.Difference{{ObjectType: "view", Object: "public.v", Kind: diff.Changed, Attribute: "definition",
					Severity: diff.SeverityError, Source: &src, Target: &tgt}},
				Compared: []diff.TypeCount{{ObjectType: "view", Source: 1, Target: 1}}, Notes: []string{"n"}}
			poison(reflect.ValueOf(r))
			return SchemaDiff(b, Text, r)
		},
		"schema lint": func(b *bytes.Buffer) error {
			r := &lint.Result{Mode: "files", Inputs: []string{"dump.sql"}, PGVersion: 17, Functions: 1,
				Findings: []lint.Finding{{Code: "PGV101", Message: "m", File: "dump.sql", Line: 1, Col: 2, Object: "function public.f()",
					Chain: []string{"CHECK constraint c on public.t"}, Fix: "ALTER FUNCTION public.f() SET search_path = public"}}}
			poison(reflect.ValueOf(r))
			return LintText(b, r)
		},
	}
	for name, render := range renders {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := b.String()
		if !strings.Contains(out, `\x1b[31m`) {
			t.Errorf("%s: the poisoned values are not in the output:\n%s", name, out)
		}
		for i := 0; i < len(out); {
			r, w := utf8.DecodeRuneInString(out[i:])
			if r != '\n' && r != '\t' && unsafeRune(r, w, false) {
				t.Errorf("%s: raw %q at byte %d: ...%q", name, out[i:i+w], i, out[max(0, i-60):i])
				break
			}
			i += w
		}
		if strings.Contains(out, "\nequal: forged") {
			t.Errorf("%s: a value started a line of its own:\n%s", name, out)
		}
	}
}
