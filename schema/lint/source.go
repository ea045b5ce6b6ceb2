package lint

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// srcFile is one input script. text is what the parser sees: the original
// bytes with psql meta-commands and COPY data blanked to spaces, so every
// offset and line number still matches the original file.
type srcFile struct {
	name  string
	text  string
	lines []int // byte offset of the start of each line
	ends  []int // offsets just after each top-level ';' (statement ends, as a lexer sees them)
}

func newSrcFile(name, text string) *srcFile {
	f := &srcFile{name: name}
	f.text, f.ends = scanScript(text)
	f.lines = lineStarts(f.text)
	return f
}

// blankNonSQL is scanScript without the statement ends.
func blankNonSQL(s string) string {
	t, _ := scanScript(s)
	return t
}

func lineStarts(s string) []int {
	ls := []int{0}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			ls = append(ls, i+1)
		}
	}
	return ls
}

// pos maps a byte offset to a 1-based line and a 1-based column counted in
// Unicode code points (what editors and SARIF's unicodeCodePoints expect).
func (f *srcFile) pos(off int) (line, col int) {
	return posIn(f.text, f.lines, off)
}

func posIn(text string, lines []int, off int) (line, col int) {
	if off < 0 {
		return 0, 0
	}
	if off > len(text) {
		off = len(text)
	}
	i := sort.Search(len(lines), func(i int) bool { return lines[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, utf8.RuneCountInString(text[lines[i]:off]) + 1
}

// skipSpaceAndComments returns the offset of the first byte at or after off
// that is neither white space nor inside a comment: where a statement really
// starts (pg_query's stmt_location points just after the previous ';').
func skipSpaceAndComments(s string, off int) int {
	for off < len(s) {
		switch {
		case s[off] == ' ' || s[off] == '\t' || s[off] == '\n' || s[off] == '\r' || s[off] == '\f':
			off++
		case strings.HasPrefix(s[off:], "--"):
			nl := strings.IndexByte(s[off:], '\n')
			if nl < 0 {
				return len(s)
			}
			off += nl + 1
		case strings.HasPrefix(s[off:], "/*"):
			off = skipBlockComment(s, off)
		default:
			return off
		}
	}
	return off
}

// skipBlockComment returns the offset after the (nested) comment at off.
func skipBlockComment(s string, off int) int {
	depth := 0
	for i := off; i < len(s)-1; i++ {
		switch {
		case s[i] == '/' && s[i+1] == '*':
			depth++
			i++
		case s[i] == '*' && s[i+1] == '/':
			depth--
			i++
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// scanScript replaces what psql executes but the server's parser does not
// know with spaces (keeping newlines): backslash meta-commands such as
// \connect or \restrict that pg_dump writes, and the data lines of
// COPY ... FROM stdin up to the terminating \. line. It lexes just enough
// SQL (quotes, dollar quotes, comments) to know where statements end, and
// returns those ends too (a hint for splitting the parse: BEGIN ATOMIC
// bodies hold semicolons the real parser does not end a statement at).
func scanScript(s string) (string, []int) {
	var ends []int
	b := []byte(s)
	blank := func(from, to int) {
		for i := from; i < to; i++ {
			if b[i] != '\n' {
				b[i] = ' '
			}
		}
	}
	stmtStart := -1 // offset of the first token of the current statement
	atLineStart := true
	n := len(b)
	for i := 0; i < n; {
		c := b[i]
		switch {
		case c == '\n':
			atLineStart = true
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
			continue
		case c == '\\' && atLineStart:
			// psql meta-command: the rest of the line.
			end := indexFrom(s, i, '\n')
			blank(i, end)
			i = end
			continue
		}
		atLineStart = false
		switch {
		case c == '-' && i+1 < n && b[i+1] == '-':
			i = indexFrom(s, i, '\n')
		case c == '/' && i+1 < n && b[i+1] == '*':
			i = skipBlockComment(s, i)
		case c == '\'':
			if stmtStart < 0 {
				stmtStart = i
			}
			escapes := i > 0 && (b[i-1] == 'E' || b[i-1] == 'e') && (i < 2 || !isIdentByte(b[i-2]))
			i = skipQuoted(s, i, '\'', escapes)
		case c == '"':
			if stmtStart < 0 {
				stmtStart = i
			}
			i = skipQuoted(s, i, '"', false)
		case c == '$':
			if stmtStart < 0 {
				stmtStart = i
			}
			if tag, ok := dollarTag(s, i); ok && (i == 0 || !isIdentByte(b[i-1])) {
				end := strings.Index(s[i+len(tag):], tag)
				if end < 0 {
					i = n
				} else {
					i += len(tag) + end + len(tag)
				}
			} else {
				i++
			}
		case c == ';':
			if stmtStart >= 0 && isCopyFromStdin(s[stmtStart:i]) {
				// Data follows on the next line up to a line "\.".
				start := indexFrom(s, i, '\n')
				end := start
				for end < n {
					lineEnd := indexFrom(s, end+1, '\n')
					line := strings.TrimRight(s[end+1:lineEnd], "\r")
					end = lineEnd
					if line == `\.` {
						break
					}
				}
				blank(start, end)
				i = end
			} else {
				i++
			}
			ends = append(ends, i)
			stmtStart = -1
		default:
			if stmtStart < 0 {
				stmtStart = i
			}
			i++
		}
	}
	return string(b), ends
}

func indexFrom(s string, from int, c byte) int {
	if from >= len(s) {
		return len(s)
	}
	if j := strings.IndexByte(s[from:], c); j >= 0 {
		return from + j
	}
	return len(s)
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// skipQuoted returns the offset after the quoted token at i.
func skipQuoted(s string, i int, q byte, backslash bool) int {
	for j := i + 1; j < len(s); j++ {
		switch {
		case backslash && s[j] == '\\':
			j++
		case s[j] == q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// dollarTag returns the opening $tag$ at i, if there is one.
func dollarTag(s string, i int) (string, bool) {
	j := i + 1
	for j < len(s) && s[j] != '$' {
		c := s[j]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || j > i+1 && c >= '0' && c <= '9') {
			return "", false
		}
		j++
	}
	if j >= len(s) {
		return "", false
	}
	return s[i : j+1], true
}

// isCopyFromStdin says whether a statement is COPY ... FROM stdin, whose data
// psql reads from the script itself.
func isCopyFromStdin(stmt string) bool {
	f := strings.Fields(strings.ToLower(stmt))
	if len(f) < 3 || f[0] != "copy" {
		return false
	}
	for i := 1; i+1 < len(f); i++ {
		if f[i] == "from" && strings.TrimSuffix(f[i+1], ";") == "stdin" {
			return true
		}
	}
	return false
}

// literal describes where the content of a string constant lies in the
// source: content[i] comes from source offset off[i] (relative to the start
// of the literal token); off is nil when the mapping is 1:1 from start.
type literal struct {
	content string
	start   int   // offset of content[0] relative to the token
	off     []int // nil: content is a verbatim slice of the token
}

// decodeLiteral decodes a string constant token (dollar-quoted, standard or
// E” escape string) keeping the source offset of each content byte.
func decodeLiteral(tok string) (literal, bool) {
	if strings.HasPrefix(tok, "$") {
		tag, ok := dollarTag(tok, 0)
		if !ok || len(tok) < 2*len(tag) || !strings.HasSuffix(tok, tag) {
			return literal{}, false
		}
		return literal{content: tok[len(tag) : len(tok)-len(tag)], start: len(tag)}, true
	}
	escapes := false
	i := 0
	switch {
	case strings.HasPrefix(tok, "E'") || strings.HasPrefix(tok, "e'"):
		escapes, i = true, 2
	case strings.HasPrefix(tok, "'"):
		i = 1
	default:
		return literal{}, false
	}
	if len(tok) < i+1 || tok[len(tok)-1] != '\'' {
		return literal{}, false
	}
	start := i
	var b strings.Builder
	var off []int
	end := len(tok) - 1
	for i < end {
		c := tok[i]
		switch {
		case c == '\'' && i+1 < end && tok[i+1] == '\'':
			b.WriteByte('\'')
			off = append(off, i)
			i += 2
		case escapes && c == '\\' && i+1 < end:
			// Only the escapes that keep one byte; anything fancier
			// (octal, hex, unicode) makes positions approximate.
			e := tok[i+1]
			switch e {
			case 'n':
				e = '\n'
			case 't':
				e = '\t'
			case 'r':
				e = '\r'
			case 'b':
				e = '\b'
			case 'f':
				e = '\f'
			}
			b.WriteByte(e)
			off = append(off, i)
			i += 2
		default:
			b.WriteByte(c)
			off = append(off, i)
			i++
		}
	}
	return literal{content: b.String(), start: start, off: off}, true
}

// at maps an offset in the content to an offset in the token.
func (l literal) at(i int) int {
	if l.off == nil {
		return l.start + i
	}
	if i < 0 {
		return 0
	}
	if i >= len(l.off) {
		if len(l.off) == 0 {
			return l.start
		}
		return l.off[len(l.off)-1] + 1
	}
	return l.off[i]
}
