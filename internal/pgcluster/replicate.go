package pgcluster

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Subscribe publishes every table of db on src and subscribes dst to it
// (the schema must already exist on dst). It waits for the initial sync.
func Subscribe(ctx context.Context, src, dst *Cluster, db, name string) error {
	if err := src.Exec(ctx, db, "CREATE PUBLICATION "+pgx.Identifier{name}.Sanitize()+" FOR ALL TABLES"); err != nil {
		return fmt.Errorf("create publication: %w", err)
	}
	conn, err := dst.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// CREATE SUBSCRIPTION takes no parameters; the conninfo is a literal we
	// quote with the server's own quote_literal.
	var lit string
	if err := conn.QueryRow(ctx, "SELECT quote_literal($1)", src.ConnInfo(db)).Scan(&lit); err != nil {
		return err
	}
	id := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SUBSCRIPTION "+id+" CONNECTION "+lit+" PUBLICATION "+id); err != nil {
		return fmt.Errorf("create subscription: %w", err)
	}
	return WaitSynced(ctx, src, dst, db, 120*time.Second)
}

// WaitSynced waits until every table of dst's subscriptions is ready and the
// subscriber has confirmed everything the source had written when called.
func WaitSynced(ctx context.Context, src, dst *Cluster, db string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dc, err := dst.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer dc.Close(context.Background())
	for {
		var notReady int
		if err := dc.QueryRow(ctx, "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'").Scan(&notReady); err != nil {
			return err
		}
		if notReady == 0 {
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for initial sync (%d tables not ready): %w", notReady, err)
		}
	}
	return WaitCaughtUp(ctx, src, db)
}

// WaitCaughtUp waits until every logical slot on src has confirmed the WAL
// position current at the call.
func WaitCaughtUp(ctx context.Context, src *Cluster, db string) error {
	sc, err := src.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer sc.Close(context.Background())
	var lsn string
	if err := sc.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		return err
	}
	for {
		var behind int
		err := sc.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots
			WHERE slot_type = 'logical' AND (confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < $1::pg_lsn)`, lsn).Scan(&behind)
		if err != nil {
			return err
		}
		if behind == 0 {
			return nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for subscriber to confirm %s: %w", lsn, err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
