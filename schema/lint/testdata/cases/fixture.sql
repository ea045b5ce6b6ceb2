-- A hand-written schema exercising every rule. It runs as is on PG 14+
-- (the live tests apply it and expect the same findings as from this file).
-- The application's sessions use search_path = public, app; the script
-- runs with it too, which matters only where names are bound at creation.
SET check_function_bodies = false;
SET search_path = public, app;
CREATE SCHEMA app;

CREATE TYPE app.status AS ENUM ('new', 'paid');
CREATE SEQUENCE app.order_no;

CREATE FUNCTION app.has_id(j jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT j ? 'id' $$;

-- PGV101: the CHECK on app.orders reaches a body that calls has_id() unqualified.
CREATE FUNCTION app.valid_payload(j jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN has_id(j);
END
$$;

-- Pinned: clean.
CREATE FUNCTION app.valid_status(s text) RETURNS boolean
    LANGUAGE sql IMMUTABLE SET search_path = app, pg_temp
    AS $$ SELECT s::status IS NOT NULL $$;

-- PGV105: pinned, but has_id lives in app, not public.
CREATE FUNCTION app.pinned_wrong(j jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE SET search_path = public
    AS $$ SELECT has_id(j) $$;

-- PGV101 through a column default: the sequence name is a string.
CREATE FUNCTION app.next_no() RETURNS bigint
    LANGUAGE sql AS $$ SELECT nextval('order_no') $$;

CREATE TABLE app.orders (
    id bigint PRIMARY KEY DEFAULT app.next_no(),
    status text NOT NULL CHECK (app.valid_status(status)),
    payload jsonb CONSTRAINT orders_payload_check CHECK (app.valid_payload(payload)),
    total numeric
);

-- PGV101 through an ENABLE ALWAYS trigger: a %ROWTYPE and an INSERT without schema.
CREATE TABLE app.audit_log (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), what text);
CREATE FUNCTION app.audit() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
  entry audit_log%ROWTYPE;
BEGIN
  entry.what := TG_OP;
  INSERT INTO audit_log (what) VALUES (entry.what);
  RETURN NEW;
END
$$;
CREATE TRIGGER orders_audit AFTER INSERT ON app.orders
    FOR EACH ROW EXECUTE FUNCTION app.audit();
ALTER TABLE app.orders ENABLE ALWAYS TRIGGER orders_audit;

-- PGV102: an ordinary trigger does not fire in the apply worker.
CREATE FUNCTION app.touch() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN PERFORM has_id('{}'); RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON app.orders
    FOR EACH ROW EXECUTE FUNCTION app.touch();

-- PGV107 (and PGV103): a CHECK that reads another table.
CREATE TABLE app.customers (id integer PRIMARY KEY);
CREATE FUNCTION app.customer_exists(i integer) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT EXISTS (SELECT 1 FROM app.customers c WHERE c.id = i) $$;
CREATE TABLE app.invoices (
    id integer PRIMARY KEY,
    customer integer CONSTRAINT invoices_customer_check CHECK (app.customer_exists(customer))
);

-- PGV101 through an index expression (fails CREATE INDEX on PG 17).
CREATE FUNCTION app.norm(t text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION app.search_key(t text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT norm(t) $$;
CREATE INDEX invoices_key ON app.invoices (app.search_key(id::text));

-- PGV101 through a materialized view that reads a view that calls app.fmt.
CREATE FUNCTION app.money_format() RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'FM999990.00' $$;
CREATE FUNCTION app.fmt(n numeric) RETURNS text
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN to_char(n, money_format());
END
$$;
CREATE VIEW app.order_totals AS SELECT o.id, app.fmt(o.total) AS total FROM app.orders o;
CREATE MATERIALIZED VIEW app.daily AS SELECT count(*) AS n, max(t.total) AS top FROM app.order_totals t WITH NO DATA;

-- PGV101 through a domain CHECK: a cast to a type without schema.
CREATE FUNCTION app.is_status(t text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN t::status IS NOT NULL;
EXCEPTION WHEN others THEN
  RETURN false;
END
$$;
CREATE DOMAIN app.status_text AS text CONSTRAINT status_text_check CHECK (app.is_status(VALUE));

-- PGV104: SECURITY DEFINER without a pinned search_path (and PGV103).
CREATE FUNCTION app.admin_count() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER AS $$ SELECT count(*) FROM app.orders $$;

-- PGV106: a reachable function runs a computed query string.
CREATE FUNCTION app.dyn_check(t text) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$
DECLARE
  ok boolean;
BEGIN
  EXECUTE format('SELECT %L IS NOT NULL', t) INTO ok;
  RETURN ok;
END
$$;
CREATE TABLE app.notes (id integer PRIMARY KEY, body text CHECK (app.dyn_check(body)));

-- Suppressed by the comment in its body (which --db mode sees too): PGV102.
CREATE FUNCTION app.legacy() RETURNS integer
    LANGUAGE sql AS $$ -- pgverify:ignore PGV102
    SELECT count(*)::integer FROM orders $$;

-- PGV102: a user-defined operator used without a schema.
CREATE FUNCTION app.approx_eq(a numeric, b numeric) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT abs(a - b) < 0.01 $$;
CREATE OPERATOR app.=~= (FUNCTION = app.approx_eq, LEFTARG = numeric, RIGHTARG = numeric);
CREATE FUNCTION app.same_total(a numeric, b numeric) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT a =~= b $$;

-- BEGIN ATOMIC bodies are bound when created: nothing to report.
CREATE FUNCTION app.atomic_total(o app.orders) RETURNS numeric
    LANGUAGE sql IMMUTABLE
    BEGIN ATOMIC
        SELECT o.total;
    END;
