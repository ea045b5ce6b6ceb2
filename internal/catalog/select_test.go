package catalog

import (
	"strings"
	"testing"
)

func TestSelectionPatterns(t *testing.T) {
	type tbl struct{ schema, name string }
	for _, c := range []struct {
		pattern string
		yes     []tbl
		no      []tbl
	}{
		// * crosses / (path.Match's did not) and dots.
		{"public.*", []tbl{{"public", "a/b"}, {"public", "x"}, {"public", "a.b"}, {"public", ""}}, []tbl{{"app", "x"}}},
		{"*.*", []tbl{{"a/b", "c/d"}, {"public", "x"}}, nil},
		{"*", []tbl{{"public", "a/b"}}, nil},
		// A pattern without a dot is the name in any schema.
		{"orders", []tbl{{"public", "orders"}, {"app", "orders"}}, []tbl{{"public", "orders2"}}},
		{"public.orders", []tbl{{"public", "orders"}}, []tbl{{"app", "orders"}}},
		// Quoted text is literal, "" is one ", a quoted dot is no separator.
		{`public."Order Items"`, []tbl{{"public", "Order Items"}}, nil},
		{`public."a""b"`, []tbl{{"public", `a"b`}}, []tbl{{"public", "ab"}}},
		{`"a.b"`, []tbl{{"public", "a.b"}, {"x", "a.b"}}, []tbl{{"a", "b"}}},
		{`public."a*"`, []tbl{{"public", "a*"}}, []tbl{{"public", "ab"}}},
		{`public."x/y"`, []tbl{{"public", "x/y"}}, nil},
		{`"my schema"."t"`, []tbl{{"my schema", "t"}}, nil},
		{`"s"*`, []tbl{{"x", "s1"}}, []tbl{{"x", "t"}}},
		// Escapes as text reports print control characters, and the
		// literal backslash reading too.
		{`public."a\x1bb"`, []tbl{{"public", "a\x1bb"}, {"public", `a\x1bb`}}, []tbl{{"public", "ab"}}},
		{`public."tab\there"`, []tbl{{"public", "tab\there"}}, nil},
		// Globs outside quotes.
		{"public.a?c", []tbl{{"public", "abc"}, {"public", "a/c"}}, []tbl{{"public", "ac"}}},
		{"public.[ab]x", []tbl{{"public", "ax"}, {"public", "bx"}}, []tbl{{"public", "cx"}}},
		{"public.[!a]x", []tbl{{"public", "bx"}}, []tbl{{"public", "ax"}}},
		{`public.a\*`, []tbl{{"public", "a*"}}, []tbl{{"public", "ab"}}},
	} {
		sel := Selection{Include: []string{c.pattern}}
		if err := sel.Validate(); err != nil {
			t.Errorf("%s: %v", c.pattern, err)
			continue
		}
		for _, y := range c.yes {
			if !sel.Match(y.schema, y.name) {
				t.Errorf("%s does not match %q.%q", c.pattern, y.schema, y.name)
			}
			if (Selection{Exclude: []string{c.pattern}}).Match(y.schema, y.name) {
				t.Errorf("--exclude %s does not exclude %q.%q", c.pattern, y.schema, y.name)
			}
		}
		for _, n := range c.no {
			if sel.Match(n.schema, n.name) {
				t.Errorf("%s matches %q.%q", c.pattern, n.schema, n.name)
			}
		}
	}
	for _, bad := range []string{`public."abc`, "public.[ab", `abc\`} {
		if err := (Selection{Exclude: []string{bad}}).Validate(); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// Every name as a report prints it (quote_ident: quoted where Postgres needs
// it) selects exactly that table.
func TestSelectionRoundTrip(t *testing.T) {
	names := []string{"plain", "Mixed", "a b", `a"b`, `""`, "a/b", "a.b", "a*", "a?", "[x]", `back\slash`, "é", "tab\tx", "esc\x1b[31m", "line\nbreak", "-", "a,b"}
	quote := func(s string) string {
		plain := s != ""
		for _, r := range s {
			plain = plain && (r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9')
		}
		if plain {
			return s
		}
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	for _, schema := range []string{"public", "My Schema", "s.t"} {
		for _, n := range names {
			sel := Selection{Include: []string{quote(schema) + "." + quote(n)}}
			if err := sel.Validate(); err != nil {
				t.Errorf("%s: %v", sel.Include[0], err)
				continue
			}
			for _, s2 := range []string{"public", "My Schema", "s.t"} {
				for _, n2 := range names {
					if got, want := sel.Match(s2, n2), s2 == schema && n2 == n; got != want {
						t.Errorf("%s matches %q.%q: %v", sel.Include[0], s2, n2, got)
					}
				}
			}
		}
	}
}
