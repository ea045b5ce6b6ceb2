-- Objects only PG 15+ can hold, added on top of schema.sql where both
-- sides are 15 or newer (the PG 16 vs 17 tests): SQL-standard function
-- bodies, NULLS NOT DISTINCT, publication row filters, column lists and
-- schemas, security_invoker views.
CREATE FUNCTION app.active_customers() RETURNS bigint
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT count(*) FROM app.customers WHERE status = 'active';
END;

CREATE FUNCTION app.with_tax(amount numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN round(amount * 1.2, 2);

CREATE PROCEDURE app.purge_sessions(IN keep interval DEFAULT '1 day')
    LANGUAGE sql
BEGIN ATOMIC
    DELETE FROM app.sessions WHERE expires_at < now() - keep;
    UPDATE app.customers SET updated_at = now() WHERE id IN (SELECT customer_id FROM app.sessions);
END;

CREATE TABLE app.tokens (
    id integer PRIMARY KEY,
    code text,
    CONSTRAINT tokens_code_key UNIQUE NULLS NOT DISTINCT (code)
);
CREATE UNIQUE INDEX tokens_code_lower ON app.tokens (lower(code)) NULLS NOT DISTINCT;

CREATE PUBLICATION pub_filtered FOR TABLE app.customers (id, name, status) WHERE (status <> 'blocked')
    WITH (publish = 'insert');
CREATE PUBLICATION pub_audit FOR TABLES IN SCHEMA audit;

CREATE VIEW app.invoker_view WITH (security_invoker = true) AS
    SELECT id, name FROM app.customers WHERE status = 'active';
