package catalog

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Key is schema.name unquoted, what --table patterns match.
func Key(schema, name string) string { return schema + "." + name }

// Selection filters tables by --table and --exclude glob patterns matched
// against schema.name (a pattern without a dot matches the name in any schema).
//
// Patterns are globs: * is any run of characters (a / or . included), ? one
// character, [abc] and [!abc] (or [^abc]) a class, \x the character x. Text
// in double quotes is literal, with "" for one ", as Postgres and psql read
// identifiers, so every name pgverify prints selects that very table when
// passed back: public."Order Items", public."a""b", public."x/y",
// public."a*" (a star in the name). A dot splits schema from name only
// outside quotes. Inside quotes, the escapes text reports print for control
// characters (\x1b, \n, \u200e, ...) also match the character.
type Selection struct {
	Include []string
	Exclude []string
}

// Validate rejects malformed patterns before any database work.
func (s Selection) Validate() error {
	for _, p := range append(append([]string{}, s.Include...), s.Exclude...) {
		if _, err := compilePattern(p); err != nil {
			return fmt.Errorf("bad table pattern %q: %w", p, err)
		}
	}
	return nil
}

// pattern is a compiled --table/--exclude glob.
type pattern struct {
	// qualified is set when the pattern has a dot outside quotes: it
	// matches schema.name, else the name alone.
	qualified bool
	// res: the literal reading, and the escape-decoding one when a quoted
	// part holds a backslash.
	res []*regexp.Regexp
}

func (p pattern) match(schema, name string) bool {
	s := name
	if p.qualified {
		s = Key(schema, name)
	}
	for _, re := range p.res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// patternCache holds compiled patterns: Match runs once per table and
// worker, concurrently.
var patternCache sync.Map // string → pattern

func compilePattern(p string) (pattern, error) {
	if c, ok := patternCache.Load(p); ok {
		return c.(pattern), nil
	}
	lit, qualified, escaped, err := globToRegexp(p, false)
	if err != nil {
		return pattern{}, err
	}
	out := pattern{qualified: qualified, res: []*regexp.Regexp{regexp.MustCompile(lit)}}
	if escaped {
		if dec, _, _, err := globToRegexp(p, true); err == nil {
			out.res = append(out.res, regexp.MustCompile(dec))
		}
	}
	patternCache.Store(p, out)
	return out, nil
}

// globToRegexp translates a pattern. With decode, backslash escapes inside
// quotes are read as Go-style escapes (what report.Clean prints).
func globToRegexp(p string, decode bool) (re string, qualified, escaped bool, err error) {
	var b strings.Builder
	b.WriteString(`^(?s)`)
	inQuote := false
	for i := 0; i < len(p); {
		r, w := utf8.DecodeRuneInString(p[i:])
		switch {
		case inQuote && r == '"':
			if strings.HasPrefix(p[i+1:], `"`) {
				b.WriteString(regexp.QuoteMeta(`"`))
				i += 2
				continue
			}
			inQuote = false
		case inQuote && r == '\\':
			escaped = true
			if decode {
				if v, n := decodeEscape(p[i:]); n > 0 {
					b.WriteString(regexp.QuoteMeta(v))
					i += n
					continue
				}
			}
			b.WriteString(`\\`)
		case inQuote:
			b.WriteString(regexp.QuoteMeta(p[i : i+w]))
		case r == '"':
			inQuote = true
		case r == '.':
			qualified = true
			b.WriteString(`\.`)
		case r == '*':
			b.WriteString(`.*`)
		case r == '?':
			b.WriteString(`.`)
		case r == '\\':
			if i+1 >= len(p) {
				return "", false, false, fmt.Errorf("trailing backslash")
			}
			r2, w2 := utf8.DecodeRuneInString(p[i+1:])
			b.WriteString(regexp.QuoteMeta(string(r2)))
			i += 1 + w2
			continue
		case r == '[':
			end, class, cerr := globClass(p[i:])
			if cerr != nil {
				return "", false, false, cerr
			}
			b.WriteString(class)
			i += end
			continue
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+w]))
		}
		i += w
	}
	if inQuote {
		return "", false, false, fmt.Errorf("unterminated double quote")
	}
	b.WriteString(`$`)
	return b.String(), qualified, escaped, nil
}

// globClass reads [...] at the start of s: its length and the regexp class.
func globClass(s string) (int, string, error) {
	var b strings.Builder
	b.WriteString("[")
	i := 1
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		b.WriteString("^")
		i++
	}
	n := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ']' && n > 0:
			b.WriteString("]")
			return i + 1, b.String(), nil
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteString(regexp.QuoteMeta(string(s[i])))
		case c == '-' && n > 0 && i+1 < len(s) && s[i+1] != ']':
			b.WriteString("-")
		case c == '[' || c == ']' || c == '^' || c == '\\':
			b.WriteString(`\` + string(c))
		default:
			b.WriteByte(c)
		}
		n++
	}
	return 0, "", fmt.Errorf("unterminated [ class")
}

// decodeEscape reads one Go-style escape at the start of s (\x1b, \u200e,
// \n, ...): the character and the bytes read, or n = 0.
func decodeEscape(s string) (string, int) {
	for _, n := range []int{10, 6, 4, 2} { // \UXXXXXXXX, \uXXXX, \xXX, \n
		if len(s) < n {
			continue
		}
		if v, err := strconv.Unquote(`"` + s[:n] + `"`); err == nil && len(v) > 0 && (utf8.RuneCountInString(v) == 1) {
			return v, n
		}
	}
	return "", 0
}

func matches(p, schema, name string) bool {
	c, err := compilePattern(p)
	return err == nil && c.match(schema, name)
}

// Match reports whether a table is selected.
func (s Selection) Match(schema, name string) bool {
	if len(s.Include) > 0 {
		in := false
		for _, p := range s.Include {
			if matches(p, schema, name) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	for _, p := range s.Exclude {
		if matches(p, schema, name) {
			return false
		}
	}
	return true
}

// Unmatched returns the --table patterns that match none of the given
// tables: a typo must not silently verify nothing.
func (s Selection) Unmatched(keys [][2]string) []string {
	var out []string
	for _, p := range s.Include {
		hit := false
		for _, k := range keys {
			if matches(p, k[0], k[1]) {
				hit = true
				break
			}
		}
		if !hit {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
