package checksum

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/catalog"
)

// bound is a key value as text, one entry per key column; nil is unbounded.
type bound []string

// keyRange is [lo, hi): lo inclusive, hi exclusive, either may be open. The
// first and last ranges of a table are open-ended on both sides, so rows
// outside the sampled span are never skipped.
type keyRange struct {
	lo, hi bound
}

// sideSQL holds one side's queries for a table.
type sideSQL struct {
	from     string // quoted relation, ONLY for plain tables (no inheritance children)
	keyCols  []string
	keyOrd   []string // key columns as ordered and compared in ranges (COLLATE "C" where needed)
	keyTypes []string // base types, to cast text parameters
	keyColl  []string // "" or ` COLLATE "C"`, for range bounds
	terms    []string // summed per range
	rowHash  string
	colHash  []string
	// shard is the --shard condition on the key hash ("" for all rows);
	// shardH the same on a hash column h, for tables without a key.
	shard, shardH string
}

// newSideSQL builds one side's queries. collateC orders and bounds the key
// columns that are collatable in "C" (byte order), identically on both
// sides whatever their collations and library versions.
func newSideSQL(t catalog.Table, p []colPlan, key []string, collateC []bool, shard Shard) sideSQL {
	h := newHasher(p, key, "t")
	s := sideSQL{from: t.Ident(), rowHash: h.rowHash(), colHash: h.columnHashes()}
	if len(key) > 0 {
		s.terms = h.rangeTerms()
		s.shard = shard.predicate(h.keyHash())
	} else {
		s.terms = []string{s.rowHash}
		s.shard = shard.predicate(s.rowHash)
	}
	s.shardH = shard.predicate("h")
	if t.Kind == "r" {
		s.from = "ONLY " + s.from
	}
	for i, k := range key {
		c, _ := t.Column(k)
		ref := colRef("t", k)
		s.keyCols = append(s.keyCols, ref)
		coll := ""
		if collateC != nil && collateC[i] {
			coll = ` COLLATE "C"`
		}
		s.keyOrd = append(s.keyOrd, ref+coll)
		s.keyColl = append(s.keyColl, coll)
		s.keyTypes = append(s.keyTypes, c.BaseTypeSQL)
	}
	return s
}

// sqlSize is the length of the largest generated expressions, for checkSize.
func (s *sideSQL) exprs() []string {
	return append(append([]string{s.rowHash}, s.terms...), s.colHash...)
}

// keyTuple renders the key columns, as a row constructor when composite.
func (s *sideSQL) keyTuple() string {
	if len(s.keyOrd) == 1 {
		return s.keyOrd[0]
	}
	return "ROW(" + strings.Join(s.keyOrd, ", ") + ")"
}

// paramTuple renders parameters cast to the key types, starting at $n.
func (s *sideSQL) paramTuple(n int) string {
	ps := make([]string, len(s.keyTypes))
	for i, t := range s.keyTypes {
		ps[i] = fmt.Sprintf("$%d::%s%s", n+i, t, s.keyColl[i])
	}
	if len(ps) == 1 {
		return ps[0]
	}
	return "ROW(" + strings.Join(ps, ", ") + ")"
}

// where renders the range predicate and its arguments. Values are always
// parameters; only catalog-derived, quoted identifiers and type names are
// part of the SQL text.
func (s *sideSQL) where(r keyRange) (string, []any) {
	var conds []string
	var args []any
	if r.lo != nil {
		conds = append(conds, s.keyTuple()+" >= "+s.paramTuple(len(args)+1))
		for _, v := range r.lo {
			args = append(args, v)
		}
	}
	if r.hi != nil {
		conds = append(conds, s.keyTuple()+" < "+s.paramTuple(len(args)+1))
		for _, v := range r.hi {
			args = append(args, v)
		}
	}
	if s.shard != "" {
		conds = append(conds, s.shard)
	}
	if len(conds) == 0 {
		return "true", nil
	}
	return strings.Join(conds, " AND "), args
}

// shardWhere filters a hash column h to the shard, for keyless queries.
func (s *sideSQL) shardWhere(and bool) string {
	switch {
	case s.shardH == "":
		return ""
	case and:
		return " AND " + s.shardH
	}
	return " WHERE " + s.shardH
}

func (s *sideSQL) keyText() string {
	ks := make([]string, len(s.keyCols))
	for i, k := range s.keyCols {
		ks[i] = k + "::pg_catalog.text"
	}
	return strings.Join(ks, ", ")
}

func (s *sideSQL) orderBy() string { return strings.Join(s.keyOrd, ", ") }

// hashQuery counts the rows of a range and sums each hash term, returning
// the sums as one text (an empty sum is "-", never skipped, so positions
// cannot shift).
func (s *sideSQL) hashQuery(r keyRange) (string, []any) {
	w, args := s.where(r)
	return fmt.Sprintf("SELECT pg_catalog.count(*), %s FROM %s t WHERE %s",
		joinTerms(s.terms), s.from, w), args
}

// leafQuery streams key text and row hash of a range in key order.
func (s *sideSQL) leafQuery(r keyRange) (string, []any) {
	w, args := s.where(r)
	return fmt.Sprintf("SELECT %s, %s FROM %s t WHERE %s ORDER BY %s",
		s.keyText(), s.rowHash, s.from, w, s.orderBy()), args
}

// keysQuery fetches rows by key: key text, row hash and per-column hashes.
// The keys are one text[] parameter per key column, unnested side by side.
// Equality uses the column's own collation (deterministic collations agree
// on equality), so the key's index serves each lookup; the LATERAL
// subquery with OFFSET 0 keeps it one index lookup per key whatever the
// planner thinks of the batch.
func (s *sideSQL) keysQuery() string {
	params := make([]string, len(s.keyCols))
	cols := make([]string, len(s.keyCols))
	on := make([]string, len(s.keyCols))
	for i := range s.keyCols {
		params[i] = fmt.Sprintf("pg_catalog.unnest($%d::pg_catalog.text[])", i+1)
		cols[i] = fmt.Sprintf("k%d", i+1)
		on[i] = fmt.Sprintf("%s = u.k%d::%s", s.keyCols[i], i+1, s.keyTypes[i])
	}
	return fmt.Sprintf("SELECT x.* FROM ROWS FROM (%s) AS u(%s) CROSS JOIN LATERAL (SELECT %s, %s, ARRAY[%s]::pg_catalog.int8[] FROM %s t WHERE %s OFFSET 0) x",
		strings.Join(params, ", "), strings.Join(cols, ", "),
		s.keyText(), s.rowHash, strings.Join(s.colHash, ", "), s.from, strings.Join(on, " AND "))
}

// splitQuery returns every step-th key of a range, to cut it into pieces.
func (s *sideSQL) splitQuery(r keyRange, step int64) (string, []any) {
	w, args := s.where(r)
	args = append(args, step)
	bare := s.keyColsBare()
	inner := make([]string, len(s.keyCols))
	for i, k := range s.keyCols {
		inner[i] = k + "::pg_catalog.text AS " + bare[i]
	}
	return fmt.Sprintf(`SELECT %s FROM (SELECT %s, pg_catalog.row_number() OVER (ORDER BY %s) AS pgverify_rn FROM %s t WHERE %s) t
		WHERE pgverify_rn %% $%d = 0 ORDER BY pgverify_rn`,
		strings.Join(bare, ", "), strings.Join(inner, ", "), s.orderBy(), s.from, w, len(args)), args
}

// keyColsBare names the text columns of the split subquery.
func (s *sideSQL) keyColsBare() []string {
	out := make([]string, len(s.keyCols))
	for i := range s.keyCols {
		out[i] = fmt.Sprintf("k%d", i+1)
	}
	return out
}

// sampleQuery draws keys from a block sample, in key order, for boundaries.
func (s *sideSQL) sampleQuery() string {
	return fmt.Sprintf("SELECT %s FROM %s t TABLESAMPLE SYSTEM ($1) ORDER BY %s", s.keyText(), s.from, s.orderBy())
}

// noKeyHashQuery groups whole-row hashes, for tables without a primary key.
func (s *sideSQL) noKeyHashQuery() string {
	return fmt.Sprintf("SELECT h, pg_catalog.count(*) FROM (SELECT %s AS h FROM %s t) t%s GROUP BY 1 ORDER BY 1", s.rowHash, s.from, s.shardWhere(false))
}

// noKeyBucketsQuery summarises whole-row hashes per bucket of the hash.
func (s *sideSQL) noKeyBucketsQuery() string {
	return fmt.Sprintf("SELECT (h & %d)::pg_catalog.int4, pg_catalog.count(*), pg_catalog.sum(h)::pg_catalog.text FROM (SELECT %s AS h FROM %s t) t%s GROUP BY 1",
		hashBuckets-1, s.rowHash, s.from, s.shardWhere(false))
}

// noKeyBucketHashQuery groups whole-row hashes of some buckets ($1).
func (s *sideSQL) noKeyBucketHashQuery() string {
	return fmt.Sprintf("SELECT h, pg_catalog.count(*) FROM (SELECT %s AS h FROM %s t) t WHERE (h & %d)::pg_catalog.int4 = ANY($1::pg_catalog.int4[])%s GROUP BY 1 ORDER BY 1",
		s.rowHash, s.from, hashBuckets-1, s.shardWhere(true))
}

// noKeyRowsQuery fetches rows by whole-row hash (as text per column).
func noKeyRowsQuery(s *sideSQL, cols []catalog.Column) string {
	sel := make([]string, 0, len(cols)+1)
	for _, c := range cols {
		sel = append(sel, colRef("t", c.Name)+"::pg_catalog.text")
	}
	// The hash is computed in a subquery of its own (OFFSET 0 keeps it
	// there): a user column may be called anything, even h.
	sel = append(sel, "x.pgverify_h")
	return fmt.Sprintf("SELECT %s FROM %s t CROSS JOIN LATERAL (SELECT %s AS pgverify_h OFFSET 0) x WHERE x.pgverify_h = ANY($1::pg_catalog.int8[]) ORDER BY x.pgverify_h",
		strings.Join(sel, ", "), s.from, s.rowHash)
}

// alignColumns matches target columns to the source's by name, in source
// order. A column present on one side only makes the table unverifiable.
func alignColumns(src, tgt catalog.Table) (sc, tc []catalog.Column, notes []string, err error) {
	for _, c := range src.Columns {
		t, ok := tgt.Column(c.Name)
		if !ok {
			return nil, nil, nil, fmt.Errorf("column %s exists only on the source: run pgverify schema diff", pgx.Identifier{c.Name}.Sanitize())
		}
		if t.Type != c.Type {
			notes = append(notes, fmt.Sprintf("column %s is %s on the source and %s on the target; values are compared as each side reads them",
				pgx.Identifier{c.Name}.Sanitize(), c.Type, t.Type))
		}
		sc, tc = append(sc, c), append(tc, t)
	}
	for _, c := range tgt.Columns {
		if _, ok := src.Column(c.Name); !ok {
			return nil, nil, nil, fmt.Errorf("column %s exists only on the target: run pgverify schema diff", pgx.Identifier{c.Name}.Sanitize())
		}
	}
	return sc, tc, notes, nil
}
