-- pgverify schema lint --fix
-- Pins search_path on the functions below. Run it on the source and on the
-- target (before creating the subscription, or while it retries); every
-- statement is idempotent.
BEGIN;

-- billing.next_invoice(): PGV103
ALTER FUNCTION billing.next_invoice() SET search_path TO billing, pg_temp;

-- public.f(jsonb): PGV101
ALTER FUNCTION public.f(jsonb) SET search_path TO public, pg_temp;

-- public.fmt_money(numeric): PGV101
ALTER FUNCTION public.fmt_money(numeric) SET search_path TO public, pg_temp;

COMMIT;
