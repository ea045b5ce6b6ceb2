package lint

import (
	"bufio"
	"context"
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The built-in lists are generated from real servers; regenerate with
//
//	go test ./schema/lint -run TestBuiltinLists -update-builtins
//
//go:generate go test -run TestBuiltinLists -update-builtins .

//go:embed builtins/*.txt
var builtinFS embed.FS

//go:embed sql/builtins.sql
var builtinsSQL string

// Majors are the PostgreSQL majors with a generated built-in list.
var Majors = []int{13, 16, 17}

// DefaultPGVersion is the major whose built-ins file inputs are checked
// against unless Options.PGVersion says otherwise: the newest.
const DefaultPGVersion = 17

// arity is the range of argument counts one pg_catalog function accepts;
// max < 0 means variadic.
type arity struct{ min, max int }

func (a arity) accepts(n int) bool {
	return n < 0 || n >= a.min && (a.max < 0 || n <= a.max)
}

// builtins is what pg_catalog provides, by name.
type builtins struct {
	source string // "PostgreSQL 17 built-ins" or "live pg_catalog"
	major  int
	funcs  map[string][]arity
	types  map[string]bool
	ops    map[string]bool
	rels   map[string]bool
}

func newBuiltins() *builtins {
	return &builtins{funcs: map[string][]arity{}, types: map[string]bool{}, ops: map[string]bool{}, rels: map[string]bool{}}
}

func (b *builtins) add(kind, name string, min, max int) {
	switch kind {
	case "f":
		a := arity{min, max}
		for _, x := range b.funcs[name] {
			if x == a {
				return
			}
		}
		b.funcs[name] = append(b.funcs[name], a)
	case "t":
		b.types[name] = true
	case "o":
		b.ops[name] = true
	case "r":
		b.rels[name] = true
	}
}

// hasFunc says whether pg_catalog has a function of that name; nargs < 0
// matches any arity.
func (b *builtins) hasFunc(name string, nargs int) bool {
	for _, a := range b.funcs[name] {
		if a.accepts(nargs) {
			return true
		}
	}
	return false
}

// BuiltinLine is one line of a built-in list.
type BuiltinLine struct {
	Kind     string
	Name     string
	Min, Max int
}

// loadBuiltins returns the embedded list of a major.
func loadBuiltins(major int) (*builtins, error) {
	data, err := builtinFS.ReadFile(fmt.Sprintf("builtins/pg%d.txt", major))
	if err != nil {
		return nil, &VersionError{Major: major}
	}
	b := newBuiltins()
	b.major = major
	b.source = fmt.Sprintf("PostgreSQL %d built-ins", major)
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("builtins/pg%d.txt: bad line %q", major, line)
		}
		min, err1 := strconv.Atoi(f[2])
		max, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("builtins/pg%d.txt: bad line %q", major, line)
		}
		b.add(f[0], f[1], min, max)
	}
	return b, sc.Err()
}

// VersionError is a --pg-version without a built-in list.
type VersionError struct{ Major int }

func (e *VersionError) Error() string {
	s := make([]string, len(Majors))
	for i, m := range Majors {
		s[i] = strconv.Itoa(m)
	}
	return fmt.Sprintf("no built-in list for PostgreSQL %d: use --pg-version %s (or lint the live database with --db)", e.Major, strings.Join(s, ", "))
}

// ReadBuiltins reads what pg_catalog provides from a server, in the form the
// embedded lists hold. The generator and --db mode both use it.
func ReadBuiltins(ctx context.Context, q Querier) ([]BuiltinLine, error) {
	rows, err := q.Query(ctx, builtinsSQL)
	if err != nil {
		return nil, fmt.Errorf("reading pg_catalog names: %w", err)
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BuiltinLine, error) {
		var l BuiltinLine
		err := r.Scan(&l.Kind, &l.Name, &l.Min, &l.Max)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading pg_catalog names: %w", err)
	}
	sort.Slice(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Min != b.Min {
			return a.Min < b.Min
		}
		return a.Max < b.Max
	})
	return lines, nil
}

// FormatBuiltins renders a built-in list file.
func FormatBuiltins(major int, version string, lines []BuiltinLine) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# pg_catalog names of PostgreSQL %d, generated from a %s server by\n", major, version)
	b.WriteString("# go test ./schema/lint -run TestBuiltinLists -update-builtins. Do not edit.\n")
	b.WriteString("# kind\tname\tmin_args\tmax_args (f function, max -1 variadic; t type; o operator; r relation)\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "%s\t%s\t%d\t%d\n", l.Kind, l.Name, l.Min, l.Max)
	}
	return []byte(b.String())
}

func builtinsFromLines(lines []BuiltinLine) *builtins {
	b := newBuiltins()
	for _, l := range lines {
		b.add(l.Kind, l.Name, l.Min, l.Max)
	}
	return b
}
