package lint

import (
	"fmt"
	"unicode/utf8"

	"github.com/pganalyze/pg_query_go/v6/parser"
)

// ParseError is an input that does not parse: nothing of it can be trusted,
// so the command exits 2.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s (fix the SQL, or lint the live database with --db)", e.File, e.Line, e.Col, e.Msg)
}

func parseError(f *srcFile, err error) error {
	msg := err.Error()
	off := 0
	if pe, ok := err.(*parser.Error); ok && pe.Cursorpos > 0 {
		// cursorpos counts characters from 1.
		n := pe.Cursorpos - 1
		for off < len(f.text) && n > 0 {
			_, w := utf8.DecodeRuneInString(f.text[off:])
			off += w
			n--
		}
	}
	line, col := f.pos(off)
	return &ParseError{File: f.name, Line: line, Col: col, Msg: msg}
}
