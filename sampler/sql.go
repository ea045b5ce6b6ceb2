package sampler

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/checksum"
	"github.com/pgverify/pgverify/internal/catalog"
)

// tableSQL builds one side's queries for a table. Identifiers are quoted by
// pgx; values (keys, percentages, seeds) are always parameters.
type tableSQL struct {
	from      string           // the table, ONLY for a plain table (inheritance children are tables of their own)
	key       []string         // key columns, quoted, in primary-key order
	keyTypes  []string         // each key column's base type, for casting text parameters
	cols      []catalog.Column // all columns, in the source's order
	rowHash   string           // checksum.RowHashSQL over alias t
	colHashes []string         // checksum.ColumnHashSQL over alias t
}

func newTableSQL(t catalog.Table, cols []catalog.Column, key []string, h checksum.HashSQL) tableSQL {
	s := tableSQL{from: t.Ident(), cols: cols}
	if t.Kind == "r" {
		s.from = "ONLY " + s.from
	}
	for _, k := range key {
		c, _ := t.Column(k)
		s.key = append(s.key, pgx.Identifier{k}.Sanitize())
		// The base type with typmod -1 (bpchar, "bit", character varying):
		// a text parameter cast to varchar(10) or char(1) would be cut.
		s.keyTypes = append(s.keyTypes, c.BaseTypeSQL)
	}
	s.rowHash = h.Row
	s.colHashes = h.Columns
	return s
}

func (s *tableSQL) countQuery() string {
	return "SELECT pg_catalog.count(*) FROM " + s.from + " AS t"
}

// sampleQuery draws rows: each key column as text and the row hash.
// limit, when set, only guards against a sample far larger than planned.
func (s *tableSQL) sampleQuery(m Method, pct float64, seed int64, limit *int64) (string, []any) {
	sel := make([]string, 0, len(s.key)+1)
	for _, k := range s.key {
		sel = append(sel, "t."+k+"::pg_catalog.text")
	}
	sel = append(sel, s.rowHash)
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + s.from + " AS t"
	var args []any
	switch m {
	case Bernoulli, System:
		q += fmt.Sprintf(" TABLESAMPLE %s ($1::pg_catalog.float4) REPEATABLE ($2::pg_catalog.float8)", strings.ToUpper(string(m)))
		args = append(args, float32(pct), float64(seed))
	}
	q += fmt.Sprintf(" LIMIT $%d::pg_catalog.int8", len(args)+1)
	args = append(args, limit)
	return q, args
}

// lookupQuery reads the rows of a batch of keys given as one text array per
// key column: the key's position in the batch (1-based), the row hash and,
// withColumns, each column's hash. The LATERAL subquery with OFFSET 0 keeps
// it a primary-key lookup per key whatever the planner thinks of the batch.
func (s *tableSQL) lookupQuery(withColumns bool) string {
	params := make([]string, len(s.key))
	aliases := make([]string, len(s.key))
	conds := make([]string, len(s.key))
	for i, k := range s.key {
		params[i] = fmt.Sprintf("pg_catalog.unnest($%d::pg_catalog.text[])", i+1)
		aliases[i] = fmt.Sprintf("k%d", i+1)
		conds[i] = fmt.Sprintf("t.%s = k.k%d::%s", k, i+1, s.keyTypes[i])
	}
	sel := []string{s.rowHash + " AS h"}
	out := []string{"k.ord", "x.h"}
	if withColumns {
		for i, h := range s.colHashes {
			sel = append(sel, fmt.Sprintf("%s AS c%d", h, i+1))
			out = append(out, fmt.Sprintf("x.c%d", i+1))
		}
	}
	return fmt.Sprintf("SELECT %s FROM ROWS FROM (%s) WITH ORDINALITY AS k(%s, ord) "+
		"CROSS JOIN LATERAL (SELECT %s FROM %s AS t WHERE %s OFFSET 0) x",
		strings.Join(out, ", "), strings.Join(params, ", "), strings.Join(aliases, ", "),
		strings.Join(sel, ", "), s.from, strings.Join(conds, " AND "))
}
