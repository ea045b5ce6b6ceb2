package diff

import "testing"

// goldenChanges are the changes behind the golden report: one or two per
// rendering path (missing, extra, changed, multi-line values, notices,
// privileges).
const goldenChanges = `
DROP TABLE app.settings;
CREATE FUNCTION app.greet(who text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'hello ' || who $$;
ALTER TABLE app.sessions ALTER COLUMN user_agent TYPE varchar(500);
ALTER TABLE app.customers ENABLE TRIGGER customers_touch;
ALTER POLICY sessions_live ON app.sessions USING (expires_at > now() - interval '1 hour');
ALTER PUBLICATION pub_orders DROP TABLE app.customers;
GRANT SELECT ON app.sessions TO app_reader;
CREATE OR REPLACE VIEW app.customer_orders AS
    SELECT c.id, c.name, count(o.id) AS orders, sum(o.amount) AS total,
           max(o.placed_on) FILTER (WHERE o.status <> 'cancelled') AS last_order,
           CASE WHEN c.status::text = 'blocked' THEN 'no' ELSE 'yes' END AS can_order
    FROM app.customers c
    LEFT JOIN app.orders o ON o.customer_id = c.id
    WHERE c.created_at > '2021-01-01'::date AND c.tags && ARRAY['vip', 'b2b']
    GROUP BY c.id, c.name
    HAVING count(o.id) >= 0;
`

// GoldenResult is the comparison the golden report test (package
// diff_test, which may import report) renders: PG 13 base against a PG 16
// copy with goldenChanges applied, privileges compared. Server versions are
// pinned: the patch level depends on the installed binaries.
func GoldenResult(t *testing.T) *Result {
	f := clusters(t)
	db := clone(t, f.pg16, "base")
	if err := f.pg16.Exec(t.Context(), db, goldenChanges); err != nil {
		t.Fatal(err)
	}
	res := compare(t, f.pg13, "base", f.pg16, db, Options{Privileges: true})
	res.Source = Server{Version: "13.x", VersionNum: 130000}
	res.Target = Server{Version: "16.x", VersionNum: 160000}
	return res
}
