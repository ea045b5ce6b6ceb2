package replicate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgverify/pgverify/internal/dbconn"
)

// stepPrivileges checks, before anything is changed, that the source role
// can create the publication and serve the subscription, and that the
// target role can create the database and the subscription.
func (r *run) stepPrivileges(ctx context.Context) (StepStatus, string, error) {
	t0 := time.Now()
	var missing []string
	var super, repl, create bool
	var who string
	if err := r.src.QueryRow(ctx, query("source_privileges.sql")).Scan(&super, &repl, &create, &who); err != nil {
		return StepFailed, "", fmt.Errorf("source: reading the role's privileges: %w", err)
	}
	var all, ins, upd, del, trunc bool
	var tabs []string
	pubExists := true
	if err := r.src.QueryRow(ctx, query("publication.sql"), r.opts.Publication).Scan(&all, &ins, &upd, &del, &trunc, &tabs); errors.Is(err, pgx.ErrNoRows) {
		pubExists = false
	} else if err != nil {
		return StepFailed, "", fmt.Errorf("source: reading publication: %w", err)
	}
	role := pgx.Identifier{who}.Sanitize()
	if !super && !repl {
		missing = append(missing, fmt.Sprintf("source: role %s lacks REPLICATION, which the subscription's connection needs: ALTER ROLE %s REPLICATION;", who, role))
	}
	if !pubExists {
		if !super && !r.selecting() {
			missing = append(missing, fmt.Sprintf("source: CREATE PUBLICATION ... FOR ALL TABLES needs a superuser; %s is not one (or select tables with --table: then it must own them)", who))
		}
		if !super && !create {
			missing = append(missing, fmt.Sprintf("source: role %s lacks CREATE on database %s, which CREATE PUBLICATION needs: GRANT CREATE ON DATABASE %s TO %s;", who, r.srcID.name, pgx.Identifier{r.srcID.name}.Sanitize(), role))
		}
	}
	c := r.tgt
	if c == nil {
		cfg, err := dbconn.Config(r.opts.TargetDSN, r.opts.TargetConn)
		if err != nil {
			return StepFailed, "", err
		}
		cfg.Database = "postgres"
		maint, err := dbconn.ConnectConfig(ctx, cfg, r.opts.TargetConn)
		if err != nil {
			return StepFailed, "", fmt.Errorf("target maintenance database: %w", err)
		}
		defer maint.Close(context.WithoutCancel(ctx))
		c = maint
	}
	var tsuper, createdb, tcreate, createSub bool
	if err := c.QueryRow(ctx, query("target_privileges.sql")).Scan(&tsuper, &createdb, &tcreate, &createSub, &who); err != nil {
		return StepFailed, "", fmt.Errorf("target: reading the role's privileges: %w", err)
	}
	role = pgx.Identifier{who}.Sanitize()
	if r.tgt == nil && !tsuper && !createdb {
		missing = append(missing, fmt.Sprintf("target: role %s lacks CREATEDB, which --create-database needs: ALTER ROLE %s CREATEDB;", who, role))
	}
	if !tsuper {
		if r.tgtMajor() > 0 && r.tgtMajor() < 16 {
			missing = append(missing, fmt.Sprintf("target: CREATE SUBSCRIPTION needs a superuser before PG 16; %s is not one", who))
		} else {
			if !createSub {
				missing = append(missing, fmt.Sprintf("target: role %s needs pg_create_subscription to create the subscription: GRANT pg_create_subscription TO %s;", who, role))
			}
			if r.tgt != nil && !tcreate {
				missing = append(missing, fmt.Sprintf("target: role %s lacks CREATE on the target database, which CREATE SUBSCRIPTION needs", who))
			}
		}
	}
	if len(missing) > 0 {
		r.gate("privileges", t0, Fail, fmt.Sprintf("%d privilege(s) missing", len(missing)), missing...)
		return StepFailed, "grant the missing privileges, then run again", errStop
	}
	summary := "the source role can publish and replicate; the target role can create the subscription"
	r.gate("privileges", t0, Pass, summary)
	return StepDone, summary, nil
}
