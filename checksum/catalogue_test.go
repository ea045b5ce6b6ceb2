package checksum

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

// The fault catalogue (issue 9): for every key kind × every kind of
// difference, one table with exactly one difference injected on the target
// and an untouched twin. `tables` must report exactly that difference (key
// and columns) and the twin equal. Spellings Postgres itself equates must
// compare equal. One pair of clusters, many small tables, one run.

// keyKind is how a catalogue table is keyed.
type keyKind struct {
	name string
	cols string   // key column definitions
	pk   string   // PRIMARY KEY (...) column list
	keys []string // SQL literals (a row constructor's fields for composite keys)
	show []string // each key as tables reports it: col=value[, col=value]
}

func catalogueKeys() []keyKind {
	ints := func(vals ...string) ([]string, []string) {
		var lits, show []string
		for _, v := range vals {
			lits = append(lits, v)
			show = append(show, "id="+v)
		}
		return lits, show
	}
	var kinds []keyKind
	lit, show := ints("1", "2", "3", "17", "42", "99", "100", "1000", "-5", "2147483647")
	kinds = append(kinds, keyKind{name: "int", cols: "id int", pk: "id", keys: lit, show: show})
	lit, show = ints("-9223372036854775808", "-4294967296", "-1", "0", "5", "4294967300", "9223372036854775807")
	kinds = append(kinds, keyKind{name: "bigint_extremes", cols: "id bigint", pk: "id", keys: lit, show: show})
	lit, show = ints("-9223372036854775808", "9223372036854775807")
	kinds = append(kinds, keyKind{name: "only_extremes", cols: "id bigint", pk: "id", keys: lit, show: show})
	var u, us []string
	for i := 0; i < 8; i++ {
		v := fmt.Sprintf("%08x-0000-4000-8000-%012x", i*0x11111111, i)
		u, us = append(u, "'"+v+"'"), append(us, "id="+v)
	}
	kinds = append(kinds, keyKind{name: "uuid", cols: "id uuid", pk: "id", keys: u, show: us})
	var tx, txs []string
	for _, v := range []string{"a", "B", "b", "A1", "a 1", "é", "e", "Z", "zz", ""} {
		tx, txs = append(tx, "'"+v+"'"), append(txs, "id="+v)
	}
	kinds = append(kinds, keyKind{name: "text_icu", cols: `id text COLLATE "und-x-icu"`, pk: "id", keys: tx, show: txs})
	kinds = append(kinds, keyKind{name: "text_c", cols: `id text COLLATE "C"`, pk: "id", keys: tx, show: txs})
	var nm, nms []string
	for _, v := range []string{"-1e20", "-2.25", "0", "0.5", "1.5", "1e20", "123456789.123456789"} {
		nm = append(nm, v)
		nms = append(nms, "id="+strings.TrimSpace(numericText(v)))
	}
	kinds = append(kinds, keyKind{name: "numeric", cols: "id numeric", pk: "id", keys: nm, show: nms})
	var cp, cps []string
	for _, v := range [][2]string{{"1", "x"}, {"1", "y"}, {"2", "x"}, {"-3", ""}, {"2147483647", "zz"}} {
		cp = append(cp, v[0]+", '"+v[1]+"'")
		cps = append(cps, "a="+v[0]+", b="+v[1])
	}
	kinds = append(kinds, keyKind{name: "composite", cols: "a int, b text", pk: "a, b", keys: cp, show: cps})
	return kinds
}

// numericText is Postgres' text output of the few numeric literals above.
func numericText(v string) string {
	switch v {
	case "-1e20":
		return "-100000000000000000000"
	case "1e20":
		return "100000000000000000000"
	}
	return v
}

// Value columns every catalogue table carries, and a row's base values.
const catalogueCols = `n numeric, f float8, c char(5), t text, arr int[], jb jsonb, ts timestamp, tz timestamptz, r int4range, i8 bigint`

func catalogueValues(i int) string {
	return fmt.Sprintf(`1.50, 0, 'ab', 'x%d', '{1,2}', '{"a": 1.0, "b": [1, "s"]}', '2024-01-01 00:00:00', '2024-01-01 00:00:00+00', '[1,3)', %d`, i, i)
}

// faultKind is one difference injected into a row (or none, for spellings
// Postgres says are the same value). set is an UPDATE's SET list.
type faultKind struct {
	name    string
	set     string
	kind    DiffKind // "" when the table must compare equal
	columns []string
}

func catalogueFaults() []faultKind {
	return []faultKind{
		{name: "missing", kind: DiffMissing},
		{name: "extra", kind: DiffExtra},
		{name: "numeric_scale", set: "n = 1.5", kind: DiffChanged, columns: []string{"n"}},
		{name: "numeric_value", set: "n = 1.51", kind: DiffChanged, columns: []string{"n"}},
		{name: "float_sign_of_zero", set: "f = '-0'", kind: DiffChanged, columns: []string{"f"}},
		{name: "float_null", set: "f = NULL", kind: DiffChanged, columns: []string{"f"}},
		{name: "char_value", set: "c = 'ac'", kind: DiffChanged, columns: []string{"c"}},
		{name: "trailing_blank", set: "t = t || ' '", kind: DiffChanged, columns: []string{"t"}},
		{name: "nfd_text", set: `t = U&'e\0301'`, kind: DiffChanged, columns: []string{"t"}},
		{name: "array_lower_bound", set: "arr = '[0:1]={1,2}'", kind: DiffChanged, columns: []string{"arr"}},
		{name: "jsonb_number_scale", set: `jb = '{"a": 1.00, "b": [1, "s"]}'`, kind: DiffChanged, columns: []string{"jb"}},
		{name: "timestamp_1us", set: "ts = ts + interval '1 microsecond'", kind: DiffChanged, columns: []string{"ts"}},
		{name: "timestamptz_1us", set: "tz = tz - interval '1 microsecond'", kind: DiffChanged, columns: []string{"tz"}},
		{name: "bigint_fold", set: "i8 = i8 # 4294967297", kind: DiffChanged, columns: []string{"i8"}},
		{name: "two_columns", set: "n = 2, t = NULL", kind: DiffChanged, columns: []string{"n", "t"}},
		// Spellings of the same value: equal.
		{name: "same_jsonb_key_order", set: `jb = '{"b": [1, "s"], "a": 1.0}'`},
		{name: "same_bpchar_padding", set: "c = 'ab   '"},
		{name: "same_timestamptz_other_zone", set: "tz = '2024-01-01 02:00:00+02'"},
		{name: "same_canonical_range", set: "r = '[1,2]'"},
	}
}

func TestTablesFaultCatalogue(t *testing.T) {
	needPG(t)
	for _, mp := range [][2]int{{13, 16}, {16, 17}} {
		t.Run(fmt.Sprintf("%d_to_%d", mp[0], mp[1]), func(t *testing.T) {
			runCatalogue(t, clusters.Get(t, mp[0]), clusters.Get(t, mp[1]))
		})
	}
}

func runCatalogue(t *testing.T, src, tgt *pgcluster.Cluster) {
	ctx := context.Background()
	db := pairDBs(t, src, tgt, "catalogue")
	var ddl, load, damage strings.Builder
	want := map[string][]Difference{}
	twins := map[string]bool{}
	for _, k := range catalogueKeys() {
		for _, f := range catalogueFaults() {
			for _, twin := range []bool{false, true} {
				name := fmt.Sprintf("%s__%s", k.name, f.name)
				if twin {
					name += "__twin"
				}
				fmt.Fprintf(&ddl, "CREATE TABLE %s (%s, %s, PRIMARY KEY (%s));\n", name, k.cols, catalogueCols, k.pk)
				var rows []string
				for i, key := range k.keys {
					rows = append(rows, fmt.Sprintf("(%s, %s)", key, catalogueValues(i)))
				}
				fmt.Fprintf(&load, "INSERT INTO %s VALUES %s;\n", name, strings.Join(rows, ", "))
				if twin {
					twins["public."+name] = true
					continue
				}
				// The difference goes to the last key: with only_extremes
				// and bigint_extremes that is an extreme value.
				last := len(k.keys) - 1
				where := keyWhere(k, last)
				switch f.kind {
				case DiffMissing:
					fmt.Fprintf(&damage, "DELETE FROM %s WHERE %s;\n", name, where)
				case DiffExtra:
					extra, show := extraKey(k)
					fmt.Fprintf(&damage, "INSERT INTO %s VALUES (%s, %s);\n", name, extra, catalogueValues(99))
					want["public."+name] = []Difference{{Kind: DiffExtra, Key: parseShow(show)}}
					continue
				default:
					fmt.Fprintf(&damage, "UPDATE %s SET %s WHERE %s;\n", name, f.set, where)
				}
				if f.kind == "" {
					want["public."+name] = nil
				} else {
					want["public."+name] = []Difference{{Kind: f.kind, Key: parseShow(k.show[last]), Columns: f.columns}}
				}
			}
		}
	}
	// The last byte of a 5 MB TOASTed value.
	for _, name := range []string{"toast__last_byte", "toast__last_byte__twin"} {
		fmt.Fprintf(&ddl, "CREATE TABLE %s (id int PRIMARY KEY, big text, small int);\n", name)
		fmt.Fprintf(&load, "INSERT INTO %s SELECT g, repeat(md5(g::text), 163840) || 'a', g FROM generate_series(1, 3) g;\n", name)
	}
	twins["public.toast__last_byte__twin"] = true
	damage.WriteString("UPDATE toast__last_byte SET big = left(big, -1) || 'b' WHERE id = 2;\n")
	want["public.toast__last_byte"] = []Difference{{Kind: DiffChanged, Key: key("id", "2"), Columns: []string{"big"}}}
	for _, c := range []*pgcluster.Cluster{src, tgt} {
		if err := c.Exec(ctx, db, ddl.String()+load.String()); err != nil {
			t.Fatalf("PG %d: %v", c.Major, err)
		}
	}
	if err := tgt.Exec(ctx, db, damage.String()); err != nil {
		t.Fatal(err)
	}
	for _, o := range []func(*Options){
		func(o *Options) {},
		func(o *Options) { o.RangeRows, o.LeafRows = 2, 1 }, // sampled ranges and drill-down
	} {
		res := run(t, src.DSN(db), tgt.DSN(db), o)
		if len(res.Tables) != len(want)+len(twins) {
			t.Fatalf("%d tables compared, want %d", len(res.Tables), len(want)+len(twins))
		}
		for _, tr := range res.Tables {
			if twins[tr.Table] {
				if tr.Status != StatusMatch {
					t.Errorf("twin %s: %s %q %+v", tr.Table, tr.Status, tr.Error, tr.Differences)
				}
				continue
			}
			w := want[tr.Table]
			status := StatusMismatch
			if len(w) == 0 {
				status = StatusMatch
			}
			if tr.Status != status || !sameDifferences(tr.Differences, w) {
				t.Errorf("%s: %s %q\n got %+v\nwant %+v", tr.Table, tr.Status, tr.Error, tr.Differences, w)
			}
		}
	}
}

func keyWhere(k keyKind, i int) string {
	if k.name == "composite" {
		parts := strings.SplitN(k.keys[i], ", ", 2)
		return fmt.Sprintf("a = %s AND b = %s", parts[0], parts[1])
	}
	return "id = " + k.keys[i]
}

// extraKey is a key none of k's rows has, inside the keys' span.
func extraKey(k keyKind) (lit, show string) {
	switch k.name {
	case "uuid":
		return "'ffffffff-0000-4000-8000-000000000000'", "id=ffffffff-0000-4000-8000-000000000000"
	case "text_icu", "text_c":
		return "'b '", "id=b "
	case "numeric":
		return "0.750", "id=0.750"
	case "composite":
		return "1, 'x '", "a=1, b=x "
	}
	return "7", "id=7"
}

// parseShow turns "a=1, b=x" back into a Key (values may contain spaces).
func parseShow(s string) Key {
	var k Key
	for _, part := range splitShow(s) {
		i := strings.IndexByte(part, '=')
		v := part[i+1:]
		k = append(k, KeyPart{Column: part[:i], Value: &v})
	}
	return k
}

func splitShow(s string) []string {
	// Key columns are named id, a, b: split on ", " only before "b=".
	if strings.HasPrefix(s, "a=") {
		i := strings.Index(s, ", b=")
		return []string{s[:i], s[i+2:]}
	}
	return []string{s}
}

// The catalogue covers what it claims.
func TestFaultCatalogueShape(t *testing.T) {
	var names []string
	for _, f := range catalogueFaults() {
		names = append(names, f.name)
	}
	sort.Strings(names)
	for _, need := range []string{"missing", "extra", "numeric_scale", "float_sign_of_zero", "trailing_blank", "array_lower_bound", "jsonb_number_scale", "nfd_text", "timestamp_1us"} {
		if i := sort.SearchStrings(names, need); i == len(names) || names[i] != need {
			t.Errorf("fault %s missing from the catalogue", need)
		}
	}
}
