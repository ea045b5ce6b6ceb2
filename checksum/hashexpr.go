package checksum

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/catalog"
)

// Row hashing happens inside the database. Every value contributes a 64-bit
// hash of an exact encoding of the value, computed by a function that mixes
// its seed fully and never returns it unchanged:
//
//   - fast paths where Postgres has a hash over the value's exact bits that
//     does not fold: int2/int4/bool/"char" (hash_uint32_extended of the
//     32-bit value), oid, uuid (hash of the 16 bytes), float4/8 (hash of
//     the 8 bytes, plus the sign of zero, which that hash ignores),
//     int8 (the 32-bit fold Postgres hashes, plus the high half, which
//     together are the value), timestamp/timestamptz/time (the folded 64-bit
//     count plus its float8 epoch: two distinct values never agree on both,
//     see tsHash);
//   - everything else hashes its exact text output (pinned DateStyle,
//     IntervalStyle, extra_float_digits, bytea_output, lc_monetary) with
//     hashtextextended under COLLATE "C", i.e. over the bytes: numeric
//     (hash_numeric ignores the sign and the scale), jsonb (its hash equates
//     1.0 and 1.00), arrays (their hash ignores the bounds), bpchar (its
//     hash and its cast to text drop trailing blanks), interval, date, enum
//     labels (hashenum hashes OIDs), composites, ranges, bytea, money.
//
// Postgres' own hash support functions are made for hash tables, not for
// integrity: hashint8extended folds 64 bits into 32, hash_numeric_extended
// returns its seed for zero, NaN and infinities and ignores the sign,
// hashfloat8extended returns its seed for ±0. None of them is used where
// that would lose information.
//
// A range of a keyed table is summarised as count(*), the sum of the key
// hashes, and per non-key column the sum of each value's hash seeded by its
// row's key (the integer key itself, which every hash here mixes fully, or
// the key hash). A NULL contributes a per-column marker, itself a strong
// function of the key. Sums are exact numerics: no overflow, never XOR.
//
// For tables without a key, and to fingerprint single rows, columns are
// chained: h_i = H_i(v_i, h_{i-1}), where a nullable column first mixes its
// NULL flag into the state. Every step mixes the state fully, so no value
// (zero, empty, NULL) leaves the state unchanged, and the state appears
// once per step, so the SQL grows linearly with the columns.
//
// The expressions are built from both sides' columns: a column nullable on
// either side is hashed as nullable on both (adding NOT NULL on the new
// cluster must not change every row's hash), and a column whose type
// differs between the sides is hashed through its text output on both.

// maxHashSQL bounds the size of one generated hash expression: a bug or an
// enormous table must fail clearly here, never send the server a query
// that exhausts its memory.
const maxHashSQL = 4 << 20

// colPlan is how one column is hashed on one side.
type colPlan struct {
	c catalog.Column
	// nullable: NULL on either side is possible.
	nullable bool
	// asText: the sides declare different types, so both hash text output.
	asText bool
}

// plans pairs source and target columns (same order, same names).
func plans(src, tgt []catalog.Column) (sp, tp []colPlan) {
	sp, tp = make([]colPlan, len(src)), make([]colPlan, len(src))
	for i := range src {
		s, t := src[i], tgt[i]
		nullable := !s.NotNull || !t.NotNull
		asText := s.Type != t.Type || s.BaseType != t.BaseType || s.BaseTypeSchema != t.BaseTypeSchema
		sp[i] = colPlan{c: s, nullable: nullable, asText: asText}
		tp[i] = colPlan{c: t, nullable: nullable, asText: asText}
	}
	return sp, tp
}

// selfPlans is for one side alone (both sides declare the same).
func selfPlans(cols []catalog.Column) []colPlan {
	p, _ := plans(cols, cols)
	return p
}

// kind is the hash path of a column.
type kind int

const (
	kText kind = iota
	kBpchar
	kInt4  // int2, int4
	kBool  // bool
	kChar  // "char"
	kInt8  // int8
	kOid   // oid
	kUUID  // uuid
	kFloat // float4, float8
	kTS    // timestamp
	kTSTZ  // timestamptz
	kTime  // time
	kNumeric
)

func (p colPlan) kind() kind {
	c := p.c
	if c.BaseTypeSchema != "pg_catalog" || c.TypeKind == "e" || c.Category == "A" {
		return kText
	}
	if c.BaseType == "bpchar" {
		return kBpchar // even asText: its text cast would drop the blanks
	}
	if p.asText {
		return kText
	}
	switch c.BaseType {
	case "int2", "int4":
		return kInt4
	case "bool":
		return kBool
	case "char":
		return kChar
	case "int8":
		return kInt8
	case "oid":
		return kOid
	case "uuid":
		return kUUID
	case "float4", "float8":
		return kFloat
	case "timestamp":
		return kTS
	case "timestamptz":
		return kTSTZ
	case "time":
		return kTime
	case "numeric":
		return kNumeric
	}
	return kText
}

// value is the column's value expression under alias ref: a domain is cast
// to its base type (without a typmod, which would cut values).
func (p colPlan) value(ref string) string {
	if p.c.IsDomain {
		return "(" + ref + ")::" + p.c.BaseTypeSQL
	}
	return ref
}

// zero is a non-NULL value of the column's hash path, standing in for NULL
// in chains (the NULL flag is mixed in separately).
func (k kind) zero() string {
	switch k {
	case kText, kBpchar:
		return "''"
	case kInt4:
		return "0"
	case kBool:
		return "false"
	case kChar:
		return `'x'::pg_catalog."char"`
	case kInt8:
		return "0::pg_catalog.int8"
	case kOid:
		return "0::pg_catalog.oid"
	case kUUID:
		return "'00000000-0000-0000-0000-000000000000'::pg_catalog.uuid"
	case kFloat:
		return "0::pg_catalog.float8"
	case kTS:
		return "'epoch'::pg_catalog.timestamp"
	case kTSTZ:
		return "'epoch'::pg_catalog.timestamptz"
	case kTime:
		return "'00:00'::pg_catalog.time"
	case kNumeric:
		return "0::pg_catalog.numeric"
	}
	return "''"
}

// hashValue hashes the value expression v (a column, or a COALESCE of it)
// with seed, an int8 expression that appears exactly once in the result.
// NULL in gives NULL out (every function here is strict), which range sums
// rely on to substitute the NULL marker.
func hashValue(k kind, v, seed string) string {
	switch k {
	case kText:
		return fmt.Sprintf("pg_catalog.hashtextextended((%s)::pg_catalog.text COLLATE \"C\", %s)", v, seed)
	case kBpchar:
		// bpchar's cast to text strips trailing blanks; its output does not.
		return fmt.Sprintf("pg_catalog.hashtextextended(pg_catalog.textin(pg_catalog.bpcharout(%s)) COLLATE \"C\", %s)", v, seed)
	case kInt4, kBool, kChar:
		return fmt.Sprintf("pg_catalog.hashint4extended((%s)::pg_catalog.int4, %s)", v, seed)
	case kInt8:
		// hashint8extended hashes lo ^ hi (or lo ^ ~hi): with hi mixed in
		// as well, the pair determines the value.
		return fmt.Sprintf("pg_catalog.hashint4extended(((%[1]s) >> 32)::pg_catalog.int4, pg_catalog.hashint8extended(%[1]s, %[2]s))", v, seed)
	case kOid:
		return fmt.Sprintf("pg_catalog.hashoidextended(%s, %s)", v, seed)
	case kUUID:
		return fmt.Sprintf("pg_catalog.uuid_hash_extended(%s, %s)", v, seed)
	case kFloat:
		// hashfloat8extended hashes the 8 bytes, but returns the seed for
		// both zeros and folds every NaN into one (NaN = NaN is wanted).
		// The outer hash mixes the state and tells -0 from 0.
		return fmt.Sprintf("pg_catalog.hashint4extended(CASE WHEN (%[1]s) <> 0 THEN 0 WHEN pg_catalog.float8send((%[1]s)::pg_catalog.float8) >= '\\x80'::pg_catalog.bytea THEN 2 ELSE 1 END, pg_catalog.hashfloat8extended((%[1]s)::pg_catalog.float8, %[2]s))", v, seed)
	case kTS:
		return tsHash(v, v, seed)
	case kTSTZ:
		return tsHash("pg_catalog.timezone('UTC', "+v+")", v, seed)
	case kNumeric:
		// hash_numeric_extended hashes the significant digits and the
		// weight (the magnitude) but not the sign or the display scale, and
		// returns its seed for NaN and ±Infinity and seed-1 for zero: the
		// outer hash adds a code for the sign and scale, or for the kind of
		// special value. Measured 0.2 s per million rows cheaper than the
		// text output on the bench table.
		return fmt.Sprintf("pg_catalog.hashint4extended(CASE WHEN pg_catalog.scale(%[1]s) IS NULL THEN (CASE WHEN (%[1]s) = 'NaN'::pg_catalog.numeric THEN -20000 WHEN (%[1]s) > 0 THEN -20001 ELSE -20002 END) WHEN (%[1]s) < 0 THEN -1 - pg_catalog.scale(%[1]s) ELSE pg_catalog.scale(%[1]s) END, pg_catalog.hash_numeric_extended(%[1]s, %[2]s))", v, seed)
	case kTime:
		// time_hash_extended folds the µs count; its epoch (float8 seconds)
		// is exact below 2^37 µs, so together they are the value.
		return fmt.Sprintf("pg_catalog.time_hash_extended(%[1]s, pg_catalog.hashfloat8extended(pg_catalog.date_part('epoch', %[1]s), %[2]s))", v, seed)
	}
	panic("unreachable")
}

// tsHash hashes a timestamp: timestamp_hash_extended hashes the 32-bit fold
// (lo ^ hi) of the µs count, and date_part('epoch') is the count / 10^6 as
// float8, computed identically on every major from 13 on. Two values with
// the same float8 epoch are less than 2^11 µs apart anywhere in the
// timestamp range, and two values that close fold alike only when equal,
// so the pair is exact. ±infinity has epoch ±Infinity.
func tsHash(ts, v, seed string) string {
	return fmt.Sprintf("pg_catalog.timestamp_hash_extended(%s, pg_catalog.hashfloat8extended(COALESCE(pg_catalog.date_part('epoch', %s), 0), %s))", ts, v, seed)
}

// nullMarker is what a NULL in column i contributes to a range sum: a
// strong function of the row's seed, tied to the column, on a different
// seed than any value hash of that row.
func nullMarker(i int, seed string) string {
	return fmt.Sprintf("pg_catalog.hashint4extended(%d, pg_catalog.hashint4extended(-1640531527, %s))", i+1, seed)
}

// chainStep folds column p into the running state (referenced once).
func chainStep(p colPlan, ref, state string) string {
	k := p.kind()
	v := p.value(ref)
	if !p.nullable {
		return hashValue(k, v, state)
	}
	flagged := fmt.Sprintf("pg_catalog.hashint4extended((%s IS NULL)::pg_catalog.int4, %s)", ref, state)
	if k == kText {
		return hashValue(k, fmt.Sprintf("COALESCE((%s)::pg_catalog.text, '')", v), flagged)
	}
	return hashValue(k, fmt.Sprintf("COALESCE(%s, %s)", v, k.zero()), flagged)
}

// hasher builds one side's hash expressions for a table.
type hasher struct {
	cols  []colPlan
	key   []string
	alias string
}

func newHasher(p []colPlan, key []string, alias string) hasher {
	return hasher{cols: p, key: key, alias: alias}
}

func (h *hasher) ref(name string) string { return colRef(h.alias, name) }

func (h *hasher) isKey(name string) bool {
	for _, k := range h.key {
		if k == name {
			return true
		}
	}
	return false
}

func (h *hasher) plan(name string) (colPlan, bool) {
	for _, p := range h.cols {
		if p.c.Name == name {
			return p, true
		}
	}
	return colPlan{}, false
}

// keySeed is the per-row seed of the non-key columns' hashes: an integer
// key itself (every hash mixes its seed fully, so no hashing is needed),
// else the key hash.
func (h *hasher) keySeed() string {
	if len(h.key) == 1 {
		if p, ok := h.plan(h.key[0]); ok {
			switch p.kind() {
			case kInt4:
				return h.ref(p.c.Name) + "::pg_catalog.int8"
			case kInt8:
				return h.ref(p.c.Name)
			}
		}
	}
	return h.keyHash()
}

// keyHash fingerprints the key columns (never NULL).
func (h *hasher) keyHash() string {
	state := "0::pg_catalog.int8"
	for _, k := range h.key {
		p, _ := h.plan(k)
		p.nullable = false
		state = chainStep(p, h.ref(k), state)
	}
	return state
}

// rangeTerms are the expressions summed per range: the key hash, then each
// non-key column seeded by the key, NULL as the column's marker.
func (h *hasher) rangeTerms() []string {
	seed := h.keySeed()
	terms := []string{h.keyHash()}
	for i, p := range h.cols {
		if h.isKey(p.c.Name) {
			continue
		}
		v := hashValue(p.kind(), p.value(h.ref(p.c.Name)), seed)
		if p.nullable {
			v = fmt.Sprintf("COALESCE(%s, %s)", v, nullMarker(i, seed))
		}
		terms = append(terms, v)
	}
	return terms
}

// rowHash is the chained hash of all columns, never NULL.
func (h *hasher) rowHash() string {
	state := "0::pg_catalog.int8"
	for _, p := range h.cols {
		state = chainStep(p, h.ref(p.c.Name), state)
	}
	return state
}

// columnHashes hash each column on its own (seeded by its position; NULL
// stays NULL), to name the columns that differ in a changed row.
func (h *hasher) columnHashes() []string {
	out := make([]string, len(h.cols))
	for i, p := range h.cols {
		out[i] = hashValue(p.kind(), p.value(h.ref(p.c.Name)), fmt.Sprintf("%d::pg_catalog.int8", i+1))
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

// checkSize rejects generated SQL past maxHashSQL.
func checkSize(exprs ...string) error {
	n := 0
	for _, e := range exprs {
		n += len(e)
	}
	if n > maxHashSQL {
		return fmt.Errorf("the table's hash expressions would be %d bytes of SQL (limit %d): too many columns to compare in one statement", n, maxHashSQL)
	}
	return nil
}

// RowHashSQL returns a SQL expression computing pgverify's exact, version-
// stable 64-bit hash of a row of a table aliased as alias, over cols in the
// given order, assuming the other side declares the same columns (use
// PairHashSQL when comparing two sides). Two rows hash alike exactly when an
// application would read back the same values (up to a 2^-64 collision).
func RowHashSQL(cols []catalog.Column, alias string) string {
	h := newHasher(selfPlans(cols), nil, alias)
	return h.rowHash()
}

// ColumnHashSQL returns one hash expression per column (same equality as
// RowHashSQL; NULL for a NULL value), to tell which columns of a changed
// row differ.
func ColumnHashSQL(cols []catalog.Column, alias string) []string {
	h := newHasher(selfPlans(cols), nil, alias)
	return h.columnHashes()
}

// HashSQL is one side's row hash and per-column hashes.
type HashSQL struct {
	Row     string
	Columns []string
}

// PairHashSQL builds the row and column hashes of both sides of a table
// from both sides' columns (aligned: same names in the same order), so they
// agree wherever the values do: nullability and type differences between
// the sides do not change the hash of equal values.
func PairHashSQL(src, tgt []catalog.Column, alias string) (s, t HashSQL, err error) {
	sp, tp := plans(src, tgt)
	hs, ht := newHasher(sp, nil, alias), newHasher(tp, nil, alias)
	s = HashSQL{Row: hs.rowHash(), Columns: hs.columnHashes()}
	t = HashSQL{Row: ht.rowHash(), Columns: ht.columnHashes()}
	if err := checkSize(append(append([]string{s.Row, t.Row}, s.Columns...), t.Columns...)...); err != nil {
		return s, t, err
	}
	return s, t, nil
}

// joinTerms renders summed terms as one text, comma-separated, with '-' for
// an empty sum. An ARRAY constructor, not concat_ws: functions take at most
// 100 arguments.
func joinTerms(terms []string) string {
	sums := make([]string, len(terms))
	for i, t := range terms {
		sums[i] = fmt.Sprintf("COALESCE(pg_catalog.sum(%s)::pg_catalog.text, '-')", t)
	}
	return "pg_catalog.array_to_string(ARRAY[" + strings.Join(sums, ", ") + "]::pg_catalog.text[], ',')"
}
