--
-- PostgreSQL database dump
--

\restrict hyt5JXgWnLRMd6BPkSSycDrbfZU7gxOqfPHKMn62m9Cls1s2KRi5yObiXw6laKu

-- Dumped from database version 13.23
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: billing; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA billing;


ALTER SCHEMA billing OWNER TO postgres;

--
-- Name: public; Type: SCHEMA; Schema: -; Owner: postgres
--

-- *not* creating schema, since initdb creates it


ALTER SCHEMA public OWNER TO postgres;

--
-- Name: next_invoice(); Type: FUNCTION; Schema: billing; Owner: postgres
--

CREATE FUNCTION billing.next_invoice() RETURNS bigint
    LANGUAGE plpgsql
    AS $$
BEGIN
  RETURN nextval('billing.invoice_no');
END
$$;


ALTER FUNCTION billing.next_invoice() OWNER TO postgres;

--
-- Name: stamp(); Type: FUNCTION; Schema: billing; Owner: postgres
--

CREATE FUNCTION billing.stamp() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'billing', 'pg_temp'
    AS $$
BEGIN
  NEW.no := next_invoice();
  RETURN NEW;
END
$$;


ALTER FUNCTION billing.stamp() OWNER TO postgres;

--
-- Name: currency(); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.currency() RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT 'EUR'::text $$;


ALTER FUNCTION public.currency() OWNER TO postgres;

--
-- Name: f(jsonb); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.f(j jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
  -- the apply worker runs this with an empty search_path
  RETURN g(j);
END
$$;


ALTER FUNCTION public.f(j jsonb) OWNER TO postgres;

--
-- Name: FUNCTION f(j jsonb); Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON FUNCTION public.f(j jsonb) IS 'validates order payloads';


--
-- Name: fmt_money(numeric); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.fmt_money(n numeric) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT to_char(n, 'FM999990.00') || ' ' || currency() $$;


ALTER FUNCTION public.fmt_money(n numeric) OWNER TO postgres;

--
-- Name: g(jsonb); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.g(j jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT j ? 'id' $$;


ALTER FUNCTION public.g(j jsonb) OWNER TO postgres;

--
-- Name: invoice_no; Type: SEQUENCE; Schema: billing; Owner: postgres
--

CREATE SEQUENCE billing.invoice_no
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE billing.invoice_no OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: invoices; Type: TABLE; Schema: billing; Owner: postgres
--

CREATE TABLE billing.invoices (
    no bigint DEFAULT billing.next_invoice() NOT NULL,
    order_id integer,
    amount numeric NOT NULL,
    label text GENERATED ALWAYS AS (public.fmt_money(amount)) STORED
);


ALTER TABLE billing.invoices OWNER TO postgres;

--
-- Name: totals; Type: MATERIALIZED VIEW; Schema: billing; Owner: postgres
--

CREATE MATERIALIZED VIEW billing.totals AS
 SELECT invoices.order_id,
    public.fmt_money(sum(invoices.amount)) AS total
   FROM billing.invoices
  GROUP BY invoices.order_id
  WITH NO DATA;


ALTER TABLE billing.totals OWNER TO postgres;

--
-- Name: orders; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.orders (
    id integer NOT NULL,
    payload jsonb,
    CONSTRAINT orders_payload_check CHECK (public.f(payload))
);


ALTER TABLE public.orders OWNER TO postgres;

--
-- Data for Name: invoices; Type: TABLE DATA; Schema: billing; Owner: postgres
--

COPY billing.invoices (no, order_id, amount) FROM stdin;
1	1	9.5
2	2	12
\.


--
-- Data for Name: orders; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.orders (id, payload) FROM stdin;
1	{"id": 1}
2	{"id": 2, "note": "tab\\there"}
\.


--
-- Name: invoice_no; Type: SEQUENCE SET; Schema: billing; Owner: postgres
--

SELECT pg_catalog.setval('billing.invoice_no', 2, true);


--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);


--
-- Name: invoices_label; Type: INDEX; Schema: billing; Owner: postgres
--

CREATE INDEX invoices_label ON billing.invoices USING btree (lower(public.fmt_money(amount)));


--
-- Name: invoices invoices_stamp; Type: TRIGGER; Schema: billing; Owner: postgres
--

CREATE TRIGGER invoices_stamp BEFORE INSERT ON billing.invoices FOR EACH ROW EXECUTE FUNCTION billing.stamp();

ALTER TABLE billing.invoices ENABLE REPLICA TRIGGER invoices_stamp;


--
-- Name: invoices invoices_order_id_fkey; Type: FK CONSTRAINT; Schema: billing; Owner: postgres
--

ALTER TABLE ONLY billing.invoices
    ADD CONSTRAINT invoices_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id);


--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: postgres
--

REVOKE USAGE ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO PUBLIC;


--
-- Name: totals; Type: MATERIALIZED VIEW DATA; Schema: billing; Owner: postgres
--

REFRESH MATERIALIZED VIEW billing.totals;


--
-- PostgreSQL database dump complete
--

\unrestrict hyt5JXgWnLRMd6BPkSSycDrbfZU7gxOqfPHKMn62m9Cls1s2KRi5yObiXw6laKu

