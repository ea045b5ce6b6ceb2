package dbconn

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	//go:embed sql/identity.sql
	identitySQL string
	//go:embed sql/identity_fallback.sql
	identityFallbackSQL string
)

// Identity names one database independently of how it was reached: two
// DSNs with different text (host name or address, port forward, URL or
// key=value) can lead to the same database.
type Identity struct {
	// System is the cluster's system identifier, or, when the role may not
	// call pg_control_system(), "started <postmaster start time>".
	System string
	// DatabaseOID is the current database's pg_database.oid.
	DatabaseOID int64
	// Fallback is set when System is the start time.
	Fallback bool
}

func (id Identity) String() string {
	s := fmt.Sprintf("system identifier %s, database oid %d", id.System, id.DatabaseOID)
	if id.Fallback {
		s = fmt.Sprintf("server %s, database oid %d", id.System, id.DatabaseOID)
	}
	return s
}

// ReadIdentity reads the identity of conn's database.
func ReadIdentity(ctx context.Context, conn *pgx.Conn) (Identity, error) {
	var id Identity
	err := conn.QueryRow(ctx, identitySQL).Scan(&id.System, &id.DatabaseOID)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
		id.Fallback = true
		err = conn.QueryRow(ctx, identityFallbackSQL).Scan(&id.System, &id.DatabaseOID)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("reading the database identity: %w", err)
	}
	return id, nil
}

// SameDatabaseError says source and target are one database: nothing would
// be verified, and a write meant for the target would hit the source.
type SameDatabaseError struct{ ID Identity }

func (e *SameDatabaseError) Error() string {
	return fmt.Sprintf("source and target are the same database (%s): pass the target's DSN as --target", e.ID)
}

// CheckDistinct returns a *SameDatabaseError when src and dst are connected
// to the same database of the same cluster. Two databases of one cluster
// are distinct.
func CheckDistinct(ctx context.Context, src, dst *pgx.Conn) error {
	s, err := ReadIdentity(ctx, src)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	d, err := ReadIdentity(ctx, dst)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if s.Fallback != d.Fallback {
		// One side could read the system identifier, the other could not:
		// compare the start times, which both sides can read.
		if s, err = readFallback(ctx, src); err != nil {
			return fmt.Errorf("source: %w", err)
		}
		if d, err = readFallback(ctx, dst); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
	if s == d {
		return &SameDatabaseError{ID: s}
	}
	return nil
}

func readFallback(ctx context.Context, conn *pgx.Conn) (Identity, error) {
	id := Identity{Fallback: true}
	if err := conn.QueryRow(ctx, identityFallbackSQL).Scan(&id.System, &id.DatabaseOID); err != nil {
		return Identity{}, fmt.Errorf("reading the database identity: %w", err)
	}
	return id, nil
}
