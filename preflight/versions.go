package preflight

// Everything that differs between Postgres majors is decided here, so a
// reader sees at a glance which rule reads what on which version.

// hasSubscriptionStats: pg_stat_subscription_stats exists from 15 on.
func (s *server) hasSubscriptionStats() bool { return s.major >= 15 }

// hasDatabaseCollationVersion: pg_database.datcollversion and
// pg_database_collation_actual_version() exist from 15 on.
func (s *server) hasDatabaseCollationVersion() bool { return s.major >= 15 }

// hasInvalidationReason: pg_replication_slots.invalidation_reason exists
// from 17 on. slots.sql reads it through to_jsonb, so the query is the same
// on every major; before 17 a lost slot shows only as wal_status = 'lost'.
func (s *server) hasInvalidationReason() bool { return s.major >= 17 }

// originsSetting is the setting that caps replication origins on a
// subscriber: max_replication_slots until 17, max_active_replication_origins
// from 18 on.
func (s *server) originsSetting() string {
	if s.major >= 18 {
		return "max_active_replication_origins"
	}
	return "max_replication_slots"
}

// publishesGeneratedColumns: from 18 on a publication can send stored
// generated columns (publish_generated_columns); before, the subscriber
// always recomputes them.
func (s *server) publishesGeneratedColumns() bool { return s.major >= 18 }
