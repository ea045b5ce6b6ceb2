package checksum

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/catalog"
)

// Row hashing happens inside the database, per column, with each type's
// extended hash support function where its equality is exact, and with the
// type's text output (pinned settings) where it is not.
//
// Why these functions: hash partitioning depends on the extended hash
// functions, so they return the same value on every major (13..18). Why not
// row::text: float output changed in PG 12 and text is 3-4x slower.
//
// Each column's hash is seeded by the hash of the columns before it, so a
// row hash is a chain h_i = H_i(c_i, seed_i(h_{i-1})): order-sensitive,
// non-linear, one bigint per row with no overflow. Rows combine by count and
// a sum in numeric (exact, no wrap-around), never by XOR.
//
// Equality must be what an application reads back, so some types need more
// than their hash function, which follows the type's equality operator:
//   - numeric: 1.0 = 1.00 under =, so the display scale joins the seed.
//   - float4/8: -0 = 0 under =, so the sign of zero joins the seed; all
//     NaNs hash alike, which is what we want (NaN equals NaN).
//   - text: hashed under COLLATE "C", i.e. byte-exact, whatever the column
//     collation (a nondeterministic collation would equate 'a' and 'A').
//   - bpchar: its hash ignores trailing blanks, so its exact output is hashed.
//   - timestamptz: hashed as the UTC timestamp, independent of TimeZone.
//   - enum: hashed by label (hashenum hashes the OID, which differs between
//     clusters).
//   - jsonb, interval, date, arrays of other types, composite, range and any
//     other type: hashed text output (jsonb hashing equates 1.0 and 1.00,
//     interval '1 day' and '24 hours').
//   - arrays of exact element types use hash_array_extended plus
//     array_dims, since array hashing ignores the bounds.
//
// NULL never reaches a hash function: a per-column code (NULL, scale, sign of
// zero) is hashed into the seed and the value is coalesced to a dummy.

// colHash builds the hash expression of one column given its seed expression.
// ref is the column reference (already quoted, with alias if any).
func colHash(c catalog.Column, ref, seed string) string {
	v := ref
	if c.IsDomain {
		v = "(" + ref + ")::" + c.BaseTypeSQL
	}
	nullable := !c.NotNull
	nullCode := func() string { return fmt.Sprintf("(%s IS NULL)::pg_catalog.int4", v) }
	// seedWith folds a small int code into the seed: hashint4extended(code, seed).
	seedWith := func(code string) string {
		return fmt.Sprintf("pg_catalog.hashint4extended(%s, %s)", code, seed)
	}
	plainSeed := func() string {
		if nullable {
			return seedWith(nullCode())
		}
		return seed
	}
	val := func(zero string) string {
		if nullable {
			return fmt.Sprintf("COALESCE(%s, %s)", v, zero)
		}
		return v
	}
	if c.Category == "A" {
		return arrayHash(c, v, seed, nullable)
	}
	if c.TypeKind == "e" {
		return textHash(v+"::pg_catalog.text", seed, nullable, v)
	}
	if c.BaseTypeSchema != "pg_catalog" {
		return textHash(v+"::pg_catalog.text", seed, nullable, v)
	}
	switch c.BaseType {
	case "int2":
		return fmt.Sprintf("pg_catalog.hashint2extended(%s, %s)", val("0::pg_catalog.int2"), plainSeed())
	case "int4":
		return fmt.Sprintf("pg_catalog.hashint4extended(%s, %s)", val("0"), plainSeed())
	case "int8":
		return fmt.Sprintf("pg_catalog.hashint8extended(%s, %s)", val("0::pg_catalog.int8"), plainSeed())
	case "oid":
		return fmt.Sprintf("pg_catalog.hashoidextended(%s, %s)", val("0::pg_catalog.oid"), plainSeed())
	case "bool":
		return fmt.Sprintf("pg_catalog.hashint4extended(%s::pg_catalog.int4, %s)", val("false"), plainSeed())
	case "uuid":
		return fmt.Sprintf("pg_catalog.uuid_hash_extended(%s, %s)", val("'00000000-0000-0000-0000-000000000000'::pg_catalog.uuid"), plainSeed())
	case "timestamp":
		return fmt.Sprintf("pg_catalog.timestamp_hash_extended(%s, %s)", val("'-infinity'::pg_catalog.timestamp"), plainSeed())
	case "timestamptz":
		return fmt.Sprintf("pg_catalog.timestamp_hash_extended(pg_catalog.timezone('UTC', %s), %s)",
			val("'-infinity'::pg_catalog.timestamptz"), plainSeed())
	case "time":
		return fmt.Sprintf("pg_catalog.time_hash_extended(%s, %s)", val("'00:00'::pg_catalog.time"), plainSeed())
	case "text", "varchar", "name":
		return textHash(v+"::pg_catalog.text", seed, nullable, v)
	case "bpchar":
		// bpchar's cast to text strips trailing blanks; its output does not.
		return textHash("pg_catalog.textin(pg_catalog.bpcharout("+v+"))", seed, nullable, v)
	case "numeric":
		code := fmt.Sprintf("COALESCE(pg_catalog.scale(%s), -1)", v)
		if nullable {
			code = fmt.Sprintf("CASE WHEN %s IS NULL THEN -2 ELSE %s END", v, code)
		}
		return fmt.Sprintf("pg_catalog.hash_numeric_extended(%s, %s)", val("0::pg_catalog.numeric"), seedWith(code))
	case "float8", "float4":
		send := "float8send"
		if c.BaseType == "float4" {
			send = "float4send"
		}
		code := fmt.Sprintf("CASE WHEN %[1]s = 0 AND pg_catalog.get_byte(pg_catalog.%[2]s(%[1]s), 0) >= 128 THEN 2 ELSE 0 END", v, send)
		if nullable {
			code = fmt.Sprintf("CASE WHEN %[1]s IS NULL THEN 1 WHEN %[1]s = 0 AND pg_catalog.get_byte(pg_catalog.%[2]s(%[1]s), 0) >= 128 THEN 2 ELSE 0 END", v, send)
		}
		fn := "hashfloat8extended"
		if c.BaseType == "float4" {
			fn = "hashfloat4extended"
		}
		return fmt.Sprintf("pg_catalog.%s(%s, %s)", fn, val("0"), seedWith(code))
	}
	return textHash(v+"::pg_catalog.text", seed, nullable, v)
}

// textHash hashes a text expression byte-exactly. nullRef is the column whose
// NULL-ness is encoded in the seed.
func textHash(textExpr, seed string, nullable bool, nullRef string) string {
	if nullable {
		return fmt.Sprintf("pg_catalog.hashtextextended(COALESCE(%s, '') COLLATE \"C\", pg_catalog.hashint4extended((%s IS NULL)::pg_catalog.int4, %s))",
			textExpr, nullRef, seed)
	}
	return fmt.Sprintf("pg_catalog.hashtextextended(%s COLLATE \"C\", %s)", textExpr, seed)
}

// exactArrayElems are element types whose hash equality is value identity,
// so hash_array_extended is exact once the bounds are hashed too.
var exactArrayElems = map[string]string{
	"int2": "", "int4": "", "int8": "", "uuid": "", "text": ` COLLATE "C"`, "varchar": ` COLLATE "C"`,
}

func arrayHash(c catalog.Column, v, seed string, nullable bool) string {
	coll, ok := exactArrayElems[c.ElemType]
	if !ok || c.ElemSchema != "pg_catalog" {
		return textHash(v+"::pg_catalog.text", seed, nullable, v)
	}
	// The bounds (and NULL-ness) go into the seed as text: '[0:1]' vs ''.
	code := fmt.Sprintf("COALESCE(pg_catalog.array_dims(%s), '')", v)
	if nullable {
		code = fmt.Sprintf("CASE WHEN %s IS NULL THEN 'NULL' ELSE %s END", v, code)
	}
	val := v
	if nullable {
		val = fmt.Sprintf("COALESCE(%s, '{}')", v)
	}
	return fmt.Sprintf("pg_catalog.hash_array_extended((%s)%s, pg_catalog.hashtextextended(%s COLLATE \"C\", %s))",
		val, coll, code, seed)
}

// rowHashExpr is the chained hash of all columns, in the given order.
func rowHashExpr(cols []catalog.Column, alias string) string {
	seed := "0::pg_catalog.int8"
	for _, c := range cols {
		seed = colHash(c, colRef(alias, c.Name), seed)
	}
	return seed
}

// columnHashExprs hashes each column on its own (seeded by its position), to
// name the columns that differ in a changed row.
func columnHashExprs(cols []catalog.Column, alias string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = colHash(c, colRef(alias, c.Name), fmt.Sprintf("%d::pg_catalog.int8", i+1))
	}
	return out
}

func colRef(alias, name string) string {
	id := pgx.Identifier{name}.Sanitize()
	if alias == "" {
		return id
	}
	return alias + "." + id
}

// RowHashSQL returns a SQL expression computing pgverify's exact, version-
// stable 64-bit hash of a row of a table aliased as alias, over cols in the
// given order. Two rows hash alike exactly when an application would read
// back the same values (up to a 2^-64 collision). The sampler shares it.
func RowHashSQL(cols []catalog.Column, alias string) string { return rowHashExpr(cols, alias) }

// ColumnHashSQL returns one hash expression per column (same equality as
// RowHashSQL), to tell which columns of a changed row differ.
func ColumnHashSQL(cols []catalog.Column, alias string) []string { return columnHashExprs(cols, alias) }
