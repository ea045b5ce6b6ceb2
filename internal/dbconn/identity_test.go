package dbconn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

// The identity check must see through DSN text, tell two databases of one
// cluster apart, and work for a plain role on every major.
func TestCheckDistinct(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Postgres")
	}
	for _, major := range []int{13, 17} {
		t.Run(fmt.Sprint(major), func(t *testing.T) {
			ctx := context.Background()
			c, err := pgcluster.Start(ctx, pgcluster.Options{Major: major, Name: "identity"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Stop() })
			for _, db := range []string{"app", "other"} {
				if err := c.CreateDB(ctx, db); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Exec(ctx, "app", `CREATE ROLE plain LOGIN PASSWORD 'pw'`); err != nil {
				t.Fatal(err)
			}
			open := func(dsn string) *pgx.Conn {
				t.Helper()
				conn, err := Connect(ctx, dsn, Options{Role: "test", ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close(ctx) })
				return conn
			}
			url := c.DSN("app")
			kv := fmt.Sprintf("host=localhost port=%d user=plain password=pw dbname=app sslmode=disable", c.Port)
			other := c.DSN("other")

			var same *SameDatabaseError
			if err := CheckDistinct(ctx, open(url), open(kv)); !errors.As(err, &same) || same.ID.Fallback {
				t.Errorf("URL and key=value to one database: %v", err)
			} else if !strings.Contains(err.Error(), "same database") || !strings.Contains(err.Error(), "system identifier") {
				t.Errorf("unclear: %v", err)
			}
			if err := CheckDistinct(ctx, open(url), open(other)); err != nil {
				t.Errorf("two databases of one cluster: %v", err)
			}
			// A plain role reads the system identifier without any grant.
			if id, err := ReadIdentity(ctx, open(kv)); err != nil || id.Fallback || id.System == "" {
				t.Errorf("plain role: %+v %v", id, err)
			}
			// A role that may not call pg_control_system() (revoked by an
			// administrator) falls back to the postmaster start time, and
			// still sees the same database, also against a superuser.
			if err := c.Exec(ctx, "app", `REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC`); err != nil {
				t.Fatal(err)
			}
			locked := open(kv)
			if id, err := ReadIdentity(ctx, locked); err != nil || !id.Fallback {
				t.Errorf("locked role: %+v %v", id, err)
			}
			if err := CheckDistinct(ctx, locked, open(url)); !errors.As(err, &same) {
				t.Errorf("locked role, same database: %v", err)
			}
			if err := CheckDistinct(ctx, open(kv), open(other)); err != nil {
				t.Errorf("locked role, other database: %v", err)
			}
		})
	}
}
