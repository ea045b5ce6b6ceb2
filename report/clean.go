package report

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Clean makes a string from the database (a table, column or object name,
// a row value, a server message) safe to print on a terminal and in a text
// report: control characters (C0 including newline and tab, DEL, C1),
// bidirectional and line-separator marks, and invalid UTF-8 are written as
// Go-style escapes (\n, \t, \x1b, \u202e, \xff). Nothing else changes,
// backslashes included, and --table accepts the escapes inside a quoted name,
// so a name printed this way still selects its table. JSON output is exact
// and needs none of this.
func Clean(s string) string { return escape(s, false) }

// cleanText is Clean for free text shown line by line (a view or function
// body): tabs are kept, everything else is escaped.
func cleanText(s string) string { return escape(s, true) }

func escape(s string, keepTab bool) string {
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, w, keepTab) {
			break
		}
		i += w
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case !unsafeRune(r, w, keepTab):
			b.WriteString(s[i : i+w])
		case r == utf8.RuneError && w == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += w
	}
	return b.String()
}

func unsafeRune(r rune, w int, keepTab bool) bool {
	switch {
	case r == utf8.RuneError && w == 1:
		return true
	case r == '\t':
		return !keepTab
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
		r == 0x2028, r == 0x2029:
		return true // bidi controls and line separators: they reorder or break what follows
	}
	return false
}

// cleanAll applies Clean to the string arguments of a printf.
func cleanAll(a []any) []any {
	out := make([]any, len(a))
	for i, v := range a {
		switch s := v.(type) {
		case string:
			out[i] = Clean(s)
		case fmt.Stringer:
			out[i] = Clean(s.String())
		default:
			out[i] = v
		}
	}
	return out
}
