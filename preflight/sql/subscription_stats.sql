-- Apply and initial-sync error counters (pg_stat_subscription_stats, 15+).
SELECT subid::int8, apply_error_count::int8, sync_error_count::int8,
       coalesce(stats_reset::text, '') AS stats_reset
FROM pg_stat_subscription_stats
