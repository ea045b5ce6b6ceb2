package diff

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// diffKeys renders differences as "object_type|object|kind|attribute"
// lines, sorted, for exact comparison.
func diffKeys(ds []Difference, sev Severity) []string {
	var out []string
	for _, d := range ds {
		if d.Severity == sev {
			out = append(out, strings.Join([]string{d.ObjectType, d.Object, string(d.Kind), d.Attribute}, "|"))
		}
	}
	sort.Strings(out)
	return out
}

func wantKeys(lines ...string) []string {
	out := append([]string{}, lines...)
	sort.Strings(out)
	return out
}

func assertKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got: %s\nwant: %s", what, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

// extVersionNotices are the extension version changes between the PG 13
// and PG 16/17 contrib modules the schema uses.
var extVersionNotices = wantKeys("extension|btree_gist|changed|version", "extension|pg_trgm|changed|version")

// everyKind asserts the comparison saw objects of every type on both sides,
// so a clean result means something.
func everyKind(t *testing.T, res *Result) {
	t.Helper()
	seen := map[string]TypeCount{}
	for _, c := range res.Compared {
		seen[c.ObjectType] = c
	}
	for _, typ := range typeOrder {
		if kinds[typ].privilege && !res.Privileges {
			if _, ok := seen[typ]; ok {
				t.Errorf("%s compared without --privileges", typ)
			}
			continue
		}
		c := seen[typ]
		if c.Source == 0 || c.Target == 0 {
			t.Errorf("no %s objects compared (source %d, target %d): the test schema must hold every kind", typ, c.Source, c.Target)
		}
	}
}

func TestRestoredPG13ToPG16IsClean(t *testing.T) {
	f := clusters(t)
	for _, priv := range []bool{false, true} {
		t.Run(fmt.Sprintf("privileges=%v", priv), func(t *testing.T) {
			res := compare(t, f.pg13, "base", f.pg16, "base", Options{Privileges: priv})
			everyKind(t, res)
			assertKeys(t, "errors", diffKeys(res.Differences, SeverityError), nil)
			assertKeys(t, "notices", diffKeys(res.Differences, SeverityNotice), extVersionNotices)
			if res.Errors() != 0 || res.Notices() != 2 {
				t.Errorf("Errors() = %d, Notices() = %d; want 0, 2", res.Errors(), res.Notices())
			}
			for _, d := range res.Differences {
				if d.Object == "btree_gist" && (d.Source == nil || *d.Source != "1.5" || d.Target == nil || *d.Target != "1.7") {
					t.Errorf("btree_gist version: source %v target %v, want 1.5 and 1.7", deref(d.Source), deref(d.Target))
				}
			}
		})
	}
}

func TestSameDDLPG13VsPG17IsClean(t *testing.T) {
	f := clusters(t)
	res := compare(t, f.pg13, "base", f.pg17, "base", Options{})
	everyKind(t, res)
	assertKeys(t, "errors", diffKeys(res.Differences, SeverityError), nil)
	assertKeys(t, "notices", diffKeys(res.Differences, SeverityNotice), extVersionNotices)

	// With privileges the one real difference shows: PG 15 changed the
	// owner and the default grants of a new database's public schema.
	res = compare(t, f.pg13, "base", f.pg17, "base", Options{Privileges: true})
	assertKeys(t, "errors with privileges", diffKeys(res.Differences, SeverityError),
		wantKeys("schema|public|changed|owner", "schema|public|changed|acl"))
}

func TestPG16VsPG17WithPG15FeaturesIsClean(t *testing.T) {
	f := clusters(t)
	res := compare(t, f.pg16, "base15", f.pg17, "base15", Options{})
	everyKind(t, res)
	assertKeys(t, "differences", diffKeys(res.Differences, SeverityError), nil)
	assertKeys(t, "notices", diffKeys(res.Differences, SeverityNotice), nil)
	var atomic, pubs int
	for _, c := range res.Compared {
		if c.ObjectType == "function" {
			atomic = c.Source
		}
		if c.ObjectType == "publication" {
			pubs = c.Source
		}
	}
	if atomic < 8 || pubs < 4 {
		t.Errorf("schema_pg15.sql objects not compared: %d functions, %d publications", atomic, pubs)
	}
}

// TestDeliberateDifferences applies one change per case to a copy of the
// target and asserts exactly the differences it must cause.
func TestDeliberateDifferences(t *testing.T) {
	f := clusters(t)
	type tc struct {
		name string
		sql  string
		priv bool
		pg15 bool // source PG 16 base15, target PG 17 base15
		on17 bool // also against a PG 17 target (PG 13 source)
		want []string
	}
	cases := []tc{
		// Schemas.
		{name: "schema extra", on17: true, sql: `CREATE SCHEMA reporting; CREATE TABLE reporting.daily (d date PRIMARY KEY);`,
			want: []string{"schema|reporting|extra|"}},
		{name: "schema missing", sql: `DROP SCHEMA audit CASCADE`,
			// CASCADE also drops the triggers in app that call audit.log_change().
			// and the rule whose action writes to audit.events.
			want: []string{"schema|audit|missing|", "rule|app.kv.kv_log|missing|",
				"trigger|app.bookings.bookings_audit|missing|",
				"trigger|app.customers.customers_status_audit|missing|",
				"trigger|app.customers.customers_truncate_audit|missing|",
				"trigger|app.order_lines.order_lines_audit|missing|",
				"trigger|app.orders_2024.orders_2024_audit|missing|"}},

		// Tables.
		{name: "table missing", sql: `DROP TABLE app.settings`,
			want: []string{"table|app.settings|missing|"}},
		{name: "table persistence", on17: true, sql: `ALTER TABLE app.sessions SET LOGGED`,
			want: []string{"table|app.sessions|changed|persistence"}},
		{name: "table partition detached", on17: true, sql: `ALTER TABLE app.orders DETACH PARTITION app.orders_default`,
			want: []string{
				"table|app.orders_default|changed|partition_of",
				"table|app.orders_default|changed|partition_bound",
				// What the partition inherited becomes its own.
				"constraint|app.orders_default.orders_customer_fk|extra|",
				"constraint|app.orders_default.orders_default_pkey|extra|",
				"constraint|app.orders_default.orders_due_after_placed|extra|",
				"index|app.orders_default_customer_id_idx|changed|partition_of",
				"index|app.orders_default_due_on_amount_idx|changed|partition_of",
			}},
		{name: "table partition bound", sql: `ALTER TABLE app.orders DETACH PARTITION app.orders_2024;
			ALTER TABLE app.orders ATTACH PARTITION app.orders_2024 FOR VALUES FROM ('2024-01-01') TO ('2024-07-01')`,
			want: []string{"table|app.orders_2024|changed|partition_bound"}},
		{name: "table replica identity", sql: `ALTER TABLE app.sessions REPLICA IDENTITY DEFAULT`,
			want: []string{"table|app.sessions|changed|replica_identity"}},
		{name: "table replica identity index", sql: `ALTER TABLE audit.events REPLICA IDENTITY USING INDEX events_pk`,
			want: []string{"table|audit.events|changed|replica_identity"}},
		{name: "table row security", sql: `ALTER TABLE app.sessions NO FORCE ROW LEVEL SECURITY`,
			want: []string{"table|app.sessions|changed|row_security"}},
		{name: "table options", sql: `ALTER TABLE audit.events SET (fillfactor = 80)`,
			want: []string{"table|audit.events|changed|options"}},

		// Columns.
		{name: "column missing", sql: `ALTER TABLE app.settings DROP COLUMN updated_at`,
			want: []string{"column|app.settings.updated_at|missing|"}},
		{name: "column extra", sql: `ALTER TABLE app.settings ADD COLUMN note text`,
			want: []string{"column|app.settings.note|extra|"}},
		{name: "column type", sql: `ALTER TABLE app.settings ALTER COLUMN value TYPE varchar(100)`,
			want: []string{"column|app.settings.value|changed|type"}},
		{name: "column typmod", on17: true, sql: `ALTER TABLE app.sessions ALTER COLUMN user_agent TYPE varchar(500)`,
			want: []string{"column|app.sessions.user_agent|changed|typmod"}},
		{name: "column nullability", sql: `ALTER TABLE app.sessions ALTER COLUMN data SET NOT NULL`,
			want: []string{"column|app.sessions.data|changed|not_null"}},
		{name: "column default", sql: `ALTER TABLE app.customers ALTER COLUMN credit SET DEFAULT 1.00`,
			// SET DEFAULT recurses to the inheritance child.
			want: []string{"column|app.customers.credit|changed|default",
				"column|app.vip_customers.credit|changed|default"}},
		{name: "column default with cast", sql: `ALTER TABLE app.orders ALTER COLUMN due_on SET DEFAULT (CURRENT_DATE + '31 days'::interval)::date`,
			// SET DEFAULT on a partitioned table recurses to its partitions.
			want: []string{"column|app.orders.due_on|changed|default",
				"column|app.orders_2024.due_on|changed|default",
				"column|app.orders_default.due_on|changed|default"}},
		{name: "column generated", sql: `ALTER TABLE app.order_lines ALTER COLUMN line_total DROP EXPRESSION`,
			want: []string{"column|app.order_lines.line_total|changed|generated",
				"column|app.order_lines.line_total|changed|generated_kind"}},
		{name: "column identity", on17: true, sql: `ALTER TABLE app.orders ALTER COLUMN id SET GENERATED ALWAYS`,
			want: []string{"column|app.orders.id|changed|identity"}},
		{name: "column collation", sql: `ALTER TABLE app.sessions ALTER COLUMN user_agent TYPE varchar(400) COLLATE "POSIX"`,
			want: []string{"column|app.sessions.user_agent|changed|collation"}},
		{name: "column order", sql: `ALTER TABLE app.settings DROP COLUMN value; ALTER TABLE app.settings ADD COLUMN value text`,
			want: []string{"table|app.settings|changed|column order"}},

		// Constraints.
		{name: "primary key missing", sql: `ALTER TABLE app.settings DROP CONSTRAINT settings_pkey`,
			want: []string{"constraint|app.settings.settings_pkey|missing|"}},
		{name: "unique columns", sql: `ALTER TABLE app.order_lines DROP CONSTRAINT order_lines_sku_key,
			ADD CONSTRAINT order_lines_sku_key UNIQUE (order_id, sku, placed_on) DEFERRABLE`,
			want: []string{"constraint|app.order_lines.order_lines_sku_key|changed|definition"}},
		{name: "foreign key action", sql: `ALTER TABLE app.orders DROP CONSTRAINT orders_customer_fk,
			ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES app.customers (id)
			ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED`,
			want: []string{"constraint|app.orders.orders_customer_fk|changed|definition"}},
		{name: "check expression", on17: true, sql: `ALTER TABLE app.customers DROP CONSTRAINT customers_status_check,
			ADD CONSTRAINT customers_status_check CHECK (status IN ('active', 'blocked', 'closed'))`,
			want: []string{"constraint|app.customers.customers_status_check|changed|definition"}},
		{name: "check constant", sql: `ALTER TABLE app.customers DROP CONSTRAINT customers_credit_check,
			ADD CONSTRAINT customers_credit_check CHECK (credit >= 0 AND credit < 1e7)`,
			want: []string{"constraint|app.customers.customers_credit_check|changed|definition"}},
		{name: "exclusion missing", sql: `ALTER TABLE app.bookings DROP CONSTRAINT bookings_no_overlap`,
			want: []string{"constraint|app.bookings.bookings_no_overlap|missing|"}},
		{name: "deferrable", sql: `ALTER TABLE app.order_lines ALTER CONSTRAINT order_lines_order_fk DEFERRABLE INITIALLY DEFERRED`,
			want: []string{"constraint|app.order_lines.order_lines_order_fk|changed|deferrable"}},
		{name: "not deferrable", sql: `ALTER TABLE app.order_lines DROP CONSTRAINT order_lines_sku_key,
			ADD CONSTRAINT order_lines_sku_key UNIQUE (order_id, placed_on, sku)`,
			want: []string{"constraint|app.order_lines.order_lines_sku_key|changed|deferrable"}},
		{name: "validated", sql: `ALTER TABLE app.sessions VALIDATE CONSTRAINT sessions_customer_fk`,
			want: []string{"constraint|app.sessions.sessions_customer_fk|changed|validated"}},

		// Indexes.
		{name: "index method", sql: `DROP INDEX app.bookings_room_hash; CREATE INDEX bookings_room_hash ON app.bookings USING btree (room)`,
			want: []string{"index|app.bookings_room_hash|changed|method"}},
		{name: "index column order", sql: `DROP INDEX app.orders_due; CREATE INDEX orders_due ON app.orders (due_on) INCLUDE (amount)`,
			want: []string{"index|app.orders_due|changed|columns",
				"index|app.orders_2024_due_on_amount_idx|changed|columns",
				"index|app.orders_default_due_on_amount_idx|changed|columns"}},
		{name: "index include", sql: `DROP INDEX app.orders_due; CREATE INDEX orders_due ON app.orders (due_on DESC NULLS LAST)`,
			// The partitions' indexes get new generated names.
			want: []string{"index|app.orders_due|changed|include",
				"index|app.orders_2024_due_on_amount_idx|missing|",
				"index|app.orders_default_due_on_amount_idx|missing|",
				"index|app.orders_2024_due_on_idx|extra|",
				"index|app.orders_default_due_on_idx|extra|"}},
		{name: "index expression", sql: `DROP INDEX app.customers_lower_email;
			CREATE INDEX customers_lower_email ON app.customers (upper(email::text) text_pattern_ops)`,
			want: []string{"index|app.customers_lower_email|changed|columns"}},
		{name: "index opclass", sql: `DROP INDEX app.customers_lower_email;
			CREATE INDEX customers_lower_email ON app.customers (lower(email::text))`,
			want: []string{"index|app.customers_lower_email|changed|columns"}},
		{name: "index predicate", on17: true, sql: `DROP INDEX audit.events_payload;
			CREATE INDEX events_payload ON audit.events USING gin (payload jsonb_path_ops) WHERE payload ? 'op'`,
			want: []string{"index|audit.events_payload|changed|predicate"}},
		{name: "index uniqueness", sql: `DROP INDEX app.customers_lower_email;
			CREATE UNIQUE INDEX customers_lower_email ON app.customers (lower(email::text) text_pattern_ops)`,
			want: []string{"index|app.customers_lower_email|changed|unique"}},
		{name: "index validity", sql: `UPDATE pg_catalog.pg_index SET indisvalid = false WHERE indexrelid = 'app.sessions_expires'::regclass`,
			want: []string{"index|app.sessions_expires|changed|valid"}},
		{name: "index options", sql: `ALTER INDEX app.sessions_expires SET (pages_per_range = 64)`,
			want: []string{"index|app.sessions_expires|changed|options"}},
		{name: "index missing", sql: `DROP INDEX app.customers_name_trgm`,
			want: []string{"index|app.customers_name_trgm|missing|"}},

		// Sequences (definitions, never values).
		{name: "sequence value is not compared", sql: `SELECT setval('app.invoice_no_seq', 5000)`},
		{name: "sequence type", sql: `ALTER SEQUENCE app.invoice_no_seq AS bigint`,
			want: []string{"sequence|app.invoice_no_seq|changed|type"}},
		{name: "sequence increment", on17: true, sql: `ALTER SEQUENCE app.invoice_no_seq INCREMENT BY 10`,
			want: []string{"sequence|app.invoice_no_seq|changed|increment"}},
		{name: "sequence bounds", sql: `ALTER SEQUENCE app.invoice_no_seq MINVALUE 1 MAXVALUE 5000000`,
			want: []string{"sequence|app.invoice_no_seq|changed|min", "sequence|app.invoice_no_seq|changed|max"}},
		{name: "sequence cycle", sql: `ALTER SEQUENCE app.invoice_no_seq NO CYCLE`,
			want: []string{"sequence|app.invoice_no_seq|changed|cycle"}},
		{name: "sequence owner", sql: `ALTER SEQUENCE app.invoice_no_seq OWNED BY app.orders.invoice_no`,
			want: []string{"sequence|app.invoice_no_seq|changed|owned_by"}},
		{name: "sequence extra", sql: `CREATE SEQUENCE app.batch_seq`,
			want: []string{"sequence|app.batch_seq|extra|"}},

		// Functions and procedures.
		{name: "function signature", sql: `DROP FUNCTION app.normalize_email(text);
			CREATE FUNCTION app.normalize_email(e varchar) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
			AS $$ SELECT lower(btrim(e)) $$`,
			want: []string{"function|app.normalize_email(text)|missing|",
				"function|app.normalize_email(character varying)|extra|"}},
		{name: "function body", sql: `CREATE OR REPLACE FUNCTION app.normalize_email(e text) RETURNS text
			LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT lower(e) $$`,
			want: []string{"function|app.normalize_email(text)|changed|body"}},
		{name: "function body whitespace", sql: `CREATE OR REPLACE FUNCTION app.normalize_email(e text) RETURNS text
			LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT lower(btrim(e))  $$`,
			want: []string{"function|app.normalize_email(text)|changed|body"}},
		{name: "function language", sql: `CREATE OR REPLACE FUNCTION app.normalize_email(e text) RETURNS text
			LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$ BEGIN RETURN lower(btrim(e)); END $$`,
			want: []string{"function|app.normalize_email(text)|changed|language",
				"function|app.normalize_email(text)|changed|body"}},
		{name: "function result", sql: `DROP FUNCTION app.normalize_email(text);
			CREATE FUNCTION app.normalize_email(e text) RETURNS varchar LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
			AS $$ SELECT lower(btrim(e)) $$`,
			want: []string{"function|app.normalize_email(text)|changed|result"}},
		{name: "function volatility", sql: `ALTER FUNCTION app.normalize_email(text) STABLE`,
			want: []string{"function|app.normalize_email(text)|changed|volatility"}},
		{name: "function strictness", sql: `ALTER FUNCTION app.normalize_email(text) CALLED ON NULL INPUT`,
			want: []string{"function|app.normalize_email(text)|changed|strict"}},
		{name: "function security", sql: `ALTER FUNCTION app.order_total(bigint, date) SECURITY INVOKER`,
			want: []string{"function|app.order_total(bigint,date)|changed|security"}},
		{name: "function config", on17: true, sql: `ALTER FUNCTION app.order_total(bigint, date) SET work_mem = '16MB'`,
			want: []string{"function|app.order_total(bigint,date)|changed|config"}},
		{name: "function search_path pin removed", sql: `ALTER FUNCTION app.touch_updated_at() RESET search_path`,
			want: []string{"function|app.touch_updated_at()|changed|config"}},
		{name: "procedure argument default", sql: `CREATE OR REPLACE PROCEDURE app.archive_orders(IN older_than interval DEFAULT '30 days'::interval)
			LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app.orders WHERE placed_on < CURRENT_DATE - older_than AND status = 'cancelled';
END
$$`,
			want: []string{"function|app.archive_orders(interval)|changed|arguments"}},
		{name: "procedure missing", sql: `DROP PROCEDURE app.archive_orders(interval)`,
			want: []string{"function|app.archive_orders(interval)|missing|"}},

		// Triggers.
		{name: "trigger timing", sql: `DROP TRIGGER customers_touch ON app.customers;
			CREATE TRIGGER customers_touch AFTER UPDATE ON app.customers FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
			ALTER TABLE app.customers ENABLE ALWAYS TRIGGER customers_touch`,
			want: []string{"trigger|app.customers.customers_touch|changed|definition"}},
		{name: "trigger events", sql: `DROP TRIGGER orders_2024_audit ON app.orders_2024;
			CREATE TRIGGER orders_2024_audit AFTER INSERT OR UPDATE OR DELETE ON app.orders_2024
			FOR EACH ROW EXECUTE FUNCTION audit.log_change('orders')`,
			want: []string{"trigger|app.orders_2024.orders_2024_audit|changed|definition"}},
		{name: "trigger argument", sql: `DROP TRIGGER bookings_audit ON app.bookings;
			CREATE TRIGGER bookings_audit AFTER INSERT ON app.bookings FOR EACH ROW EXECUTE FUNCTION audit.log_change('booking')`,
			want: []string{"trigger|app.bookings.bookings_audit|changed|definition"}},
		{name: "trigger always to enabled", sql: `ALTER TABLE app.customers ENABLE TRIGGER customers_touch`,
			want: []string{"trigger|app.customers.customers_touch|changed|enabled"}},
		{name: "trigger replica to always", on17: true, sql: `ALTER TABLE app.customers ENABLE ALWAYS TRIGGER customers_status_audit`,
			want: []string{"trigger|app.customers.customers_status_audit|changed|enabled"}},
		{name: "trigger disabled to enabled", sql: `ALTER TABLE app.customers ENABLE TRIGGER customers_truncate_audit`,
			want: []string{"trigger|app.customers.customers_truncate_audit|changed|enabled"}},
		{name: "trigger missing", sql: `DROP TRIGGER customers_touch ON app.customers`,
			want: []string{"trigger|app.customers.customers_touch|missing|"}},

		// Rules.
		{name: "rule missing", on17: true, sql: `DROP RULE kv_no_delete ON app.kv`,
			want: []string{"rule|app.kv.kv_no_delete|missing|"}},
		{name: "rule extra", sql: `CREATE RULE kv_no_insert AS ON INSERT TO app.kv DO INSTEAD NOTHING`,
			want: []string{"rule|app.kv.kv_no_insert|extra|"}},
		{name: "rule action", sql: `CREATE OR REPLACE RULE kv_log AS ON UPDATE TO app.kv
			WHERE NEW.value IS DISTINCT FROM OLD.value
			DO ALSO INSERT INTO audit.events (payload) VALUES (jsonb_build_object('key', NEW.key))`,
			want: []string{"rule|app.kv.kv_log|changed|definition"}},
		{name: "rule always to enabled", sql: `ALTER TABLE app.kv ENABLE RULE kv_log`,
			want: []string{"rule|app.kv.kv_log|changed|enabled"}},

		// Views and materialized views.
		{name: "view definition", on17: true, sql: `CREATE OR REPLACE VIEW app.open_orders WITH (security_barrier) AS
			SELECT o.id, o.customer_id, o.amount, o.placed_on, o.status
			FROM app.orders o
			WHERE o.status IN ('new', 'paid', 'shipped')
			  AND o.placed_on BETWEEN CURRENT_DATE - 365 AND CURRENT_DATE
			  AND EXISTS (SELECT 1 FROM app.customers c WHERE c.id = o.customer_id AND c.status = 'active')
			WITH CASCADED CHECK OPTION`,
			want: []string{"view|app.open_orders|changed|definition"}},
		{name: "view constant", sql: `CREATE OR REPLACE VIEW app.single_table AS
			SELECT DISTINCT ON (o.customer_id) o.customer_id, o.placed_on,
			       string_agg(o.note, ', ') OVER (PARTITION BY o.customer_id ORDER BY o.note) AS notes,
			       o.amount * 3 AS doubled
			FROM app.orders o WHERE o.note IS NOT NULL ORDER BY o.customer_id, o.placed_on DESC LIMIT 100`,
			want: []string{"view|app.single_table|changed|definition"}},
		{name: "view options", sql: `ALTER VIEW app.open_orders RESET (security_barrier)`,
			want: []string{"view|app.open_orders|changed|options"}},
		{name: "materialized view definition", on17: true, sql: `DROP MATERIALIZED VIEW app.monthly_revenue;
			CREATE MATERIALIZED VIEW app.monthly_revenue AS
			SELECT date_trunc('month', placed_on::timestamp) AS month, sum(amount) AS revenue,
			       count(*) FILTER (WHERE status = 'shipped') AS paid
			FROM app.orders GROUP BY 1 WITH NO DATA;
			CREATE UNIQUE INDEX monthly_revenue_month ON app.monthly_revenue (month)`,
			want: []string{"materialized view|app.monthly_revenue|changed|definition"}},
		{name: "materialized view populated is not compared", sql: `REFRESH MATERIALIZED VIEW app.monthly_revenue`},

		// Types.
		{name: "enum label added", on17: true, sql: `ALTER TYPE app.order_status ADD VALUE 'refunded' BEFORE 'cancelled'`,
			want: []string{"type|app.order_status|changed|labels"}},
		{name: "domain constraint", on17: true, sql: `ALTER DOMAIN app.email DROP CONSTRAINT email_check;
			ALTER DOMAIN app.email ADD CONSTRAINT email_check CHECK (VALUE ~ '@')`,
			want: []string{"domain constraint|app.email.email_check|changed|definition"}},
		{name: "domain constraint missing", sql: `ALTER DOMAIN app.amount DROP CONSTRAINT amount_nonnegative`,
			want: []string{"domain constraint|app.amount.amount_nonnegative|missing|"}},
		{name: "domain default", sql: `ALTER DOMAIN app.amount SET DEFAULT 1`,
			want: []string{"type|app.amount|changed|default"}},
		{name: "domain not null", sql: `ALTER DOMAIN app.amount DROP NOT NULL`,
			want: []string{"type|app.amount|changed|not_null"}},
		{name: "composite attribute", sql: `ALTER TYPE app.address ADD ATTRIBUTE country text`,
			want: []string{"type|app.address|changed|attributes"}},
		{name: "composite attribute renamed", sql: `ALTER TYPE app.address RENAME ATTRIBUTE city TO town`,
			// A view reading (address).city now reads (address).town.
			want: []string{"type|app.address|changed|attributes", "view|app.order_summary|changed|definition"}},

		// Extensions.
		{name: "extension extra", on17: true, sql: `CREATE EXTENSION citext`,
			want: []string{"extension|citext|extra|"}},

		// Publications.
		{name: "publication actions", sql: `ALTER PUBLICATION pub_orders SET (publish = 'insert')`,
			want: []string{"publication|pub_orders|changed|publish"}},
		{name: "publication tables", on17: true, sql: `ALTER PUBLICATION pub_orders DROP TABLE app.customers`,
			want: []string{"publication|pub_orders|changed|tables"}},
		{name: "publication via root", sql: `ALTER PUBLICATION pub_orders SET (publish_via_partition_root = false)`,
			want: []string{"publication|pub_orders|changed|via_root"}},
		{name: "publication missing", sql: `DROP PUBLICATION pub_all`,
			want: []string{"publication|pub_all|missing|"}},

		// RLS policies.
		{name: "policy using", on17: true, sql: `ALTER POLICY sessions_live ON app.sessions USING (expires_at > now() - interval '1 hour')`,
			want: []string{"policy|app.sessions.sessions_live|changed|using"}},
		{name: "policy with check", sql: `ALTER POLICY customers_not_blocked ON app.customers WITH CHECK (status::text <> 'closed')`,
			want: []string{"policy|app.customers.customers_not_blocked|changed|with_check"}},
		{name: "policy roles", sql: `ALTER POLICY customers_self ON app.customers TO PUBLIC`,
			want: []string{"policy|app.customers.customers_self|changed|roles"}},
		{name: "policy missing", sql: `DROP POLICY sessions_live ON app.sessions`,
			want: []string{"policy|app.sessions.sessions_live|missing|"}},

		// Owners and grants: ignored unless asked for.
		{name: "privileges not compared by default", sql: `GRANT SELECT ON app.sessions TO app_reader;
			ALTER TABLE app.bookings OWNER TO app_owner; REVOKE UPDATE (name) ON app.customers FROM app_reader`},
		{name: "table grant and owner", priv: true, sql: `GRANT SELECT ON app.sessions TO app_reader;
			ALTER TABLE app.bookings OWNER TO app_owner`,
			// The owner change carries over to the table's serial sequence.
			want: []string{"table|app.sessions|changed|acl", "table|app.bookings|changed|owner",
				"sequence|app.bookings_id_seq|changed|owner"}},
		{name: "column grant", priv: true, sql: `REVOKE UPDATE (name) ON app.customers FROM app_reader`,
			want: []string{"column|app.customers.name|changed|acl"}},
		{name: "function grant", priv: true, sql: `GRANT EXECUTE ON FUNCTION app.order_total(bigint, date) TO PUBLIC`,
			want: []string{"function|app.order_total(bigint,date)|changed|acl"}},
		{name: "schema owner", priv: true, sql: `ALTER SCHEMA audit OWNER TO app_owner`,
			want: []string{"schema|audit|changed|owner"}},
		{name: "default privileges changed", priv: true,
			sql:  `ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA app GRANT INSERT ON TABLES TO app_reader`,
			want: []string{"default privileges|app_owner in schema app on tables|changed|acl"}},
		{name: "default privileges missing", priv: true,
			sql:  `ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA app REVOKE SELECT ON TABLES FROM app_reader`,
			want: []string{"default privileges|app_owner in schema app on tables|missing|"}},
		{name: "default privileges not compared by default",
			sql: `ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA app REVOKE SELECT ON TABLES FROM app_reader`},
		{name: "type grant", priv: true, sql: `REVOKE USAGE ON TYPE app.order_status FROM app_reader`,
			want: []string{"type|app.order_status|changed|acl"}},

		// PG 15+ objects, PG 16 source against PG 17 target.
		{name: "sql-standard RETURN body", pg15: true, sql: `CREATE OR REPLACE FUNCTION app.with_tax(amount numeric) RETURNS numeric
			LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN round(amount * 1.25, 2)`,
			want: []string{"function|app.with_tax(numeric)|changed|body"}},
		{name: "BEGIN ATOMIC body", pg15: true, sql: `CREATE OR REPLACE PROCEDURE app.purge_sessions(IN keep interval DEFAULT '1 day')
			LANGUAGE sql
			BEGIN ATOMIC
			    DELETE FROM app.sessions WHERE expires_at < now() - keep;
			END`,
			want: []string{"function|app.purge_sessions(interval)|changed|body"}},
		{name: "nulls not distinct", pg15: true, sql: `ALTER TABLE app.tokens DROP CONSTRAINT tokens_code_key,
			ADD CONSTRAINT tokens_code_key UNIQUE (code);
			DROP INDEX app.tokens_code_lower; CREATE UNIQUE INDEX tokens_code_lower ON app.tokens (lower(code))`,
			want: []string{"constraint|app.tokens.tokens_code_key|changed|definition",
				"index|app.tokens_code_lower|changed|nulls_not_distinct"}},
		{name: "publication row filter", pg15: true, sql: `ALTER PUBLICATION pub_filtered SET TABLE app.customers (id, name, status) WHERE (status <> 'closed')`,
			want: []string{"publication|pub_filtered|changed|tables"}},
		{name: "publication column list", pg15: true, sql: `ALTER PUBLICATION pub_filtered SET TABLE app.customers (id, status) WHERE (status <> 'blocked')`,
			want: []string{"publication|pub_filtered|changed|tables"}},
		{name: "publication schemas", pg15: true, sql: `ALTER PUBLICATION pub_audit ADD TABLES IN SCHEMA app`,
			want: []string{"publication|pub_audit|changed|schemas"}},
		{name: "view security_invoker", pg15: true, sql: `ALTER VIEW app.invoker_view SET (security_invoker = false)`,
			want: []string{"view|app.invoker_view|changed|options"}},
	}
	ctx := context.Background()
	run := func(c tc, pg17 bool) {
		name := c.name
		if pg17 {
			name += " (PG 17 target)"
		}
		t.Run(name, func(t *testing.T) {
			src, srcDB, dst, tmpl := f.pg13, "base", f.pg16, "base"
			switch {
			case c.pg15:
				src, srcDB, dst, tmpl = f.pg16, "base15", f.pg17, "base15"
			case pg17:
				dst = f.pg17
			}
			db := clone(t, dst, tmpl)
			if err := dst.Exec(ctx, db, c.sql); err != nil {
				t.Fatalf("applying change: %v", err)
			}
			res := compare(t, src, srcDB, dst, db, Options{Privileges: c.priv})
			assertKeys(t, "differences", diffKeys(res.Differences, SeverityError), wantKeys(c.want...))
			if got := res.Errors(); got != len(c.want) {
				t.Errorf("Errors() = %d, want %d", got, len(c.want))
			}
			for _, d := range res.Differences {
				if d.Kind == Changed && d.Severity == SeverityError && deref(d.Source) == deref(d.Target) {
					t.Errorf("%s %s %s: source and target show the same value %q", d.ObjectType, d.Object, d.Attribute, deref(d.Source))
				}
			}
		})
	}
	for _, c := range cases {
		run(c, false)
		if c.on17 {
			run(c, true)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
