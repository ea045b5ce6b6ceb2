package checksum

import (
	"context"
	"fmt"
	"testing"

	"github.com/pgverify/pgverify/internal/catalog"
	"github.com/pgverify/pgverify/internal/dbconn"
)

// Each case stores two values of a type; equal says whether an application
// reads back the same thing, which is what the row hash must say.
var exactnessCases = []struct {
	typ    string
	a, b   string // SQL literals
	equal  bool
	setup  string // extra DDL run before the table
	onlyPG int    // run only when both majors are at least this
}{
	{typ: "int2", a: "1", b: "2"},
	{typ: "int4", a: "1", b: "1", equal: true},
	{typ: "int8", a: "-9223372036854775808", b: "9223372036854775807"},
	{typ: "numeric", a: "1.0", b: "1.00"},
	{typ: "numeric", a: "1.0", b: "1.0", equal: true},
	{typ: "numeric", a: "'NaN'", b: "'NaN'", equal: true},
	{typ: "numeric", a: "'NaN'", b: "0"},
	{typ: "numeric(12,2)", a: "1.5", b: "1.50", equal: true},
	{typ: "float8", a: "'-0'", b: "0"},
	{typ: "float8", a: "'NaN'", b: "'NaN'", equal: true},
	{typ: "float8", a: "'Infinity'", b: "'-Infinity'"},
	{typ: "float8", a: "0.1", b: "0.1", equal: true},
	{typ: "float8", a: "0.1", b: "0.10000000000000002"},
	{typ: "float4", a: "'-0'", b: "0"},
	{typ: "float4", a: "'NaN'", b: "'NaN'", equal: true},
	{typ: "text", a: "NULL", b: "''"},
	{typ: "text", a: "'a'", b: "'a '"},
	{typ: "text", a: `U&'\00E9'`, b: `U&'e\0301'`}, // precomposed vs combining: different bytes
	{typ: "text", a: "'ünïcødé ✓'", b: "'ünïcødé ✓'", equal: true},
	{typ: "text COLLATE \"C\"", a: "'a'", b: "'A'"},
	{typ: "varchar(10)", a: "'x'", b: "'x '"},
	{typ: "char(3)", a: "'a'", b: "'a  '", equal: true}, // char(n) pads: both read back 'a  '
	{typ: "bpchar", a: "'a'", b: "'a '"},
	{typ: "bytea", a: "'\\x00'", b: "'\\x0000'"},
	{typ: "bytea", a: "NULL", b: "''"},
	{typ: "uuid", a: "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", b: "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", equal: true},
	{typ: "bool", a: "true", b: "false"},
	{typ: "bool", a: "NULL", b: "false"},
	{typ: "json", a: `'{"a":1}'`, b: `'{"a": 1}'`},
	{typ: "jsonb", a: `'{"a":1.0}'`, b: `'{"a":1.00}'`},
	{typ: "jsonb", a: `'{"b":1,"a":2}'`, b: `'{"a":2,"b":1}'`, equal: true},
	{typ: "text[]", a: "'{a,b}'", b: "'{b,a}'"},
	{typ: "text[]", a: "'{a,b}'", b: "'[0:1]={a,b}'"},
	{typ: "text[]", a: "'{NULL}'", b: "'{}'"},
	{typ: "text[]", a: "'{\"\"}'", b: "'{NULL}'"},
	{typ: "int4[]", a: "'{{1,2},{3,4}}'", b: "'{1,2,3,4}'"},
	{typ: "numeric[]", a: "'{1.0}'", b: "'{1.00}'"},
	{typ: "float8[]", a: "'{-0}'", b: "'{0}'"},
	{typ: "timestamp", a: "'2024-01-01 00:00:00.000001'", b: "'2024-01-01 00:00:00'"},
	{typ: "timestamptz", a: "'2024-01-01 00:00:00+00'", b: "'2024-01-01 01:00:00+01'", equal: true},
	{typ: "timestamptz", a: "'infinity'", b: "'-infinity'"},
	{typ: "date", a: "'2024-01-01'", b: "'infinity'"},
	{typ: "interval", a: "'1 day'", b: "'24 hours'"},
	{typ: "interval", a: "'1 mon'", b: "'30 days'"},
	{typ: "mood", a: "'sad'", b: "'happy'", setup: "CREATE TYPE mood AS ENUM ('sad','happy')"},
	{typ: "posint", a: "1.0", b: "1.00", setup: "CREATE DOMAIN posint AS numeric CHECK (VALUE > 0)"},
	{typ: "pair", a: "ROW(1,'x')", b: "ROW(1,'x ')", setup: "CREATE TYPE pair AS (n int, s text)"},
	{typ: "int4range", a: "'[1,3)'", b: "'[1,2]'", equal: true}, // canonical form is the same value
	{typ: "numrange", a: "'[1.0,2)'", b: "'[1.00,2)'"},
	{typ: "inet", a: "'10.0.0.1'", b: "'10.0.0.1/32'", equal: true},
	{typ: "xml", a: "'<a/>'", b: "'<a></a>'"},
	// Issue 13: folds, seeds passed through, signs.
	{typ: "int8", a: "5", b: "4294967300"},
	{typ: "int8", a: "-1", b: "4294967295"},
	{typ: "numeric", a: "1.5", b: "-1.5"},
	{typ: "numeric", a: "0", b: "NULL"},
	{typ: "numeric", a: "0", b: "0.0"},
	{typ: "float8", a: "0", b: "NULL"},
	{typ: "timestamp", a: "'2000-01-01 00:00:00.000005'", b: "'2000-01-01 01:11:34.9673'"},
	{typ: "timestamp", a: "'infinity'", b: "'-infinity'"},
	{typ: "timestamp", a: "'1970-01-01'", b: "NULL"},
	{typ: "timestamptz", a: "'2000-01-01 00:00:00.000005+00'", b: "'2000-01-01 01:11:34.9673+00'"},
	{typ: "time", a: "'00:00:00.000005'", b: "'01:11:34.9673'"},
	{typ: "time", a: "'00:00'", b: "NULL"},
	{typ: "int4", a: "0", b: "NULL"},
	{typ: "int8", a: "0", b: "NULL"},
	{typ: "bool", a: "false", b: "NULL"},
	{typ: "uuid", a: "'00000000-0000-0000-0000-000000000000'", b: "NULL"},
	{typ: "oid", a: "0", b: "NULL"},
	{typ: `"char"`, a: `(-56)::int4::"char"`, b: `(-55)::int4::"char"`},
	{typ: `"char"`, a: `(-56)::int4::"char"`, b: `(-56)::int4::"char"`, equal: true},
	{typ: "money", a: "12.34", b: "12.35"},
	{typ: "numeric", a: "100", b: "10000"},
	{typ: "numeric", a: "1", b: "10000"},
	{typ: "numeric", a: "1.0001", b: "1.00010"},
	{typ: "numeric", a: "-0.5", b: "0.5"},
	{typ: "numeric", a: "-1.5", b: "-1.5", equal: true},
	{typ: "numeric(12,2)", a: "-3.10", b: "3.10"},
	{typ: "numeric", a: "'-Infinity'", b: "NULL", onlyPG: 14},
	{typ: "numeric", a: "'NaN'", b: "NULL"},
	{typ: "numeric", a: "'Infinity'", b: "'-Infinity'", onlyPG: 14},
	{typ: "numeric", a: "'Infinity'", b: "'NaN'", onlyPG: 14},
	{typ: "code3", a: "'abc'", b: "'abd'", setup: "CREATE DOMAIN code3 AS char(3)"},
	{typ: "bits3", a: "B'101'", b: "B'100'", setup: "CREATE DOMAIN bits3 AS bit(3)"},
}

// rowHashes returns, for the two stored values, the chained row hash and the
// per-column hash used in range sums (as text, "NULL" for NULL).
func rowHashes(t *testing.T, dsn string, setup, typ, a, b string) (int64, int64, string, string) {
	t.Helper()
	ctx := context.Background()
	conn, err := dbconn.Connect(ctx, dsn, dbconn.Options{Role: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if setup != "" {
		if _, err := conn.Exec(ctx, "SET search_path = public; "+setup); err != nil {
			t.Fatalf("%s: %v", setup, err)
		}
	}
	ddl := fmt.Sprintf("DROP TABLE IF EXISTS public.x; CREATE TABLE public.x (k int PRIMARY KEY, v public.%s)", typ)
	if !isUserType(setup) {
		ddl = fmt.Sprintf("DROP TABLE IF EXISTS public.x; CREATE TABLE public.x (k int PRIMARY KEY, v %s)", typ)
	}
	if _, err := conn.Exec(ctx, ddl); err != nil {
		t.Fatalf("%s: %v", ddl, err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET search_path = public; INSERT INTO public.x VALUES (1, %s), (2, %s)", a, b)); err != nil {
		t.Fatalf("insert %s, %s: %v", a, b, err)
	}
	if _, err := conn.Exec(ctx, "SET search_path = pg_catalog"); err != nil {
		t.Fatal(err)
	}
	tables, err := catalog.ListTables(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	var cols []catalog.Column
	for _, tb := range tables {
		if tb.Name == "x" {
			cols = tb.Columns[1:] // hash v alone so both rows are comparable
		}
	}
	q := "SELECT " + RowHashSQL(cols, "t") + ", COALESCE((" + ColumnHashSQL(cols, "t")[0] + ")::text, 'NULL') FROM public.x t ORDER BY k"
	rows, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var hs []int64
	var cs []string
	for rows.Next() {
		var h int64
		var c string
		if err := rows.Scan(&h, &c); err != nil {
			t.Fatal(err)
		}
		hs, cs = append(hs, h), append(cs, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return hs[0], hs[1], cs[0], cs[1]
}

func isUserType(setup string) bool { return setup != "" }

func TestRowHashExactAcrossMajors(t *testing.T) {
	needPG(t)
	pg13, pg16, pg17 := clusters.Get(t, 13), clusters.Get(t, 16), clusters.Get(t, 17)
	db13, db16, db17 := clusters.NewDB(t, pg13, "exact"), clusters.NewDB(t, pg16, "exact"), clusters.NewDB(t, pg17, "exact")
	for i, tc := range exactnessCases {
		t.Run(fmt.Sprintf("%02d_%s_%s_%s", i, tc.typ, tc.a, tc.b), func(t *testing.T) {
			older := pg13.DSN(db13)
			if tc.onlyPG > 13 {
				older = pg17.DSN(db17) // 16 vs 17 for values PG 13 cannot hold
			}
			a13, b13, ca13, cb13 := rowHashes(t, older, tc.setup, tc.typ, tc.a, tc.b)
			a16, b16, ca16, cb16 := rowHashes(t, pg16.DSN(db16), tc.setup, tc.typ, tc.a, tc.b)
			if a13 != a16 || b13 != b16 || ca13 != ca16 || cb13 != cb16 {
				t.Errorf("hash differs between PG 13 and PG 16: %d/%d %s/%s vs %d/%d %s/%s", a13, b13, ca13, cb13, a16, b16, ca16, cb16)
			}
			if got := a13 == b13; got != tc.equal {
				t.Errorf("%s: %s vs %s row hash equal=%v, want %v", tc.typ, tc.a, tc.b, got, tc.equal)
			}
			if got := ca13 == cb13; got != tc.equal {
				t.Errorf("%s: %s vs %s column hash equal=%v, want %v", tc.typ, tc.a, tc.b, got, tc.equal)
			}
		})
	}
}
