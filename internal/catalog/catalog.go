package catalog

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

//go:embed sql/tables.sql
var tablesSQL string

// Querier is what catalog reads need: a *pgx.Conn or a pgx.Tx.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Column describes one table column as the comparison needs it.
type Column struct {
	Name string `json:"name"`
	// Type is format_type() of the declared type, safe to use in a cast.
	Type    string `json:"type"`
	TypeOID uint32 `json:"type_oid"`
	// IsDomain is set when the declared type is a domain over BaseType.
	IsDomain bool `json:"is_domain"`
	// BaseType is the type under any domains (pg_type.typname).
	BaseType       string `json:"base_type"`
	BaseTypeSchema string `json:"base_type_schema"`
	// BaseTypeSQL is format_type() of the base type, for casts.
	BaseTypeSQL string `json:"base_type_sql"`
	// TypeKind is pg_type.typtype of the base type: b, c, e, r, m, p.
	TypeKind string `json:"type_kind"`
	// Category is pg_type.typcategory of the base type (A = array, ...).
	Category   string `json:"category"`
	ElemType   string `json:"elem_type"`
	ElemSchema string `json:"elem_schema"`
	NotNull    bool   `json:"not_null"`
	Generated  string `json:"generated"`
	Collation  string `json:"collation"`
}

// Table is a user table.
type Table struct {
	OID    uint32
	Schema string
	Name   string
	// Display is schema.name quoted only where Postgres needs it.
	Display     string
	Kind        string // r plain, p partitioned
	Persistence string // p permanent, u unlogged
	EstRows     float64
	Pages       int64
	PrimaryKey  []string
	// UniqueKey is, for a table without a primary key, the columns of its
	// smallest unique index on NOT NULL columns (UniqueIndex), which
	// identifies rows as well as a primary key; empty otherwise.
	UniqueKey   []string
	UniqueIndex string
	Columns     []Column
}

// RowKey returns the columns that identify a row: the primary key, else a
// unique index on NOT NULL columns, else none (compare as a multiset).
func (t *Table) RowKey() []string {
	if len(t.PrimaryKey) > 0 {
		return t.PrimaryKey
	}
	return t.UniqueKey
}

// Ident is the fully quoted name, for SQL.
func (t *Table) Ident() string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

// Column returns the named column.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// ListTables reads every user table.
func ListTables(ctx context.Context, q Querier) ([]Table, error) {
	rows, err := q.Query(ctx, tablesSQL)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var t Table
		var oid int64
		var cols []byte
		var uidx *string
		if err := rows.Scan(&oid, &t.Schema, &t.Name, &t.Display, &t.Kind, &t.Persistence,
			&t.EstRows, &t.Pages, &t.PrimaryKey, &uidx, &t.UniqueKey, &cols); err != nil {
			return nil, fmt.Errorf("listing tables: %w", err)
		}
		t.OID = uint32(oid)
		if uidx != nil && len(t.PrimaryKey) == 0 {
			t.UniqueIndex = *uidx
		} else {
			t.UniqueKey = nil
		}
		if err := json.Unmarshal(cols, &t.Columns); err != nil {
			return nil, fmt.Errorf("listing columns of %s: %w", t.Display, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
