package pgcluster

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// AppRole creates a login role with the same password on every cluster,
// with all privileges on the tables and sequences of db's public schema:
// a pooler (PgBouncer's userlist) or an application logs in to whichever
// cluster is current with one set of credentials, so the role must exist
// alike on both sides of a switch. drop removes it again (best effort).
func AppRole(ctx context.Context, db, role, password string, cs ...*Cluster) (drop func(), err error) {
	var made []*Cluster
	drop = func() {
		id := pgx.Identifier{role}.Sanitize()
		for _, c := range made {
			_ = c.Exec(context.Background(), db, "DROP OWNED BY "+id)
			_ = c.Exec(context.Background(), "postgres", "DROP ROLE IF EXISTS "+id)
		}
	}
	for _, c := range cs {
		if err := createRole(ctx, c, db, role, password); err != nil {
			drop()
			return nil, fmt.Errorf("role %s on PG %d: %w", role, c.Major, err)
		}
		made = append(made, c)
	}
	return drop, nil
}

// createRole lets the server quote the name (%I) and the password (%L), so
// neither is ever spliced into SQL by hand.
func createRole(ctx context.Context, c *Cluster, db, role, password string) error {
	conn, err := c.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var sql string
	if err := conn.QueryRow(ctx, `SELECT format('CREATE ROLE %1$I LOGIN PASSWORD %2$L; '
		'GRANT ALL ON ALL TABLES IN SCHEMA public TO %1$I; '
		'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO %1$I', $1::text, $2::text)`, role, password).Scan(&sql); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, sql)
	return err
}
