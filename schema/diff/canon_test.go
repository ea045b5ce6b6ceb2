package diff

import "testing"

// The pairs below are real server output: the same object printed by
// different majors (equal) and deliberately different objects (not equal).
// No server is needed.

func TestCanonQueryEquivalent(t *testing.T) {
	cases := []struct{ name, a, b string }{
		{"PG 16 drops the qualifier of a single relation",
			` SELECT date_trunc('month'::text, (orders.placed_on)::timestamp without time zone) AS month,
    sum((orders.amount)::numeric) AS revenue,
    count(*) FILTER (WHERE (orders.status = 'paid'::app.order_status)) AS paid
   FROM app.orders
  GROUP BY (date_trunc('month'::text, (orders.placed_on)::timestamp without time zone));`,
			` SELECT date_trunc('month'::text, (placed_on)::timestamp without time zone) AS month,
    sum((amount)::numeric) AS revenue,
    count(*) FILTER (WHERE (status = 'paid'::app.order_status)) AS paid
   FROM app.orders
  GROUP BY (date_trunc('month'::text, (placed_on)::timestamp without time zone));`},
		{"single aliased relation, correlated subquery keeps its qualifier",
			` SELECT o.id, o.status FROM app.orders o
  WHERE ((o.status = ANY (ARRAY['new'::app.order_status])) AND (EXISTS ( SELECT 1
           FROM app.customers c
          WHERE ((c.id = o.customer_id)))));`,
			` SELECT id, status FROM app.orders o
  WHERE ((status = ANY (ARRAY['new'::app.order_status])) AND (EXISTS ( SELECT 1
           FROM app.customers c
          WHERE ((c.id = o.customer_id)))));`},
		{"PG 17 prints SQL-syntax calls",
			` SELECT "substring"(c.name, 1, 3) AS s, btrim(c.name, ' '::text) AS t, timezone('UTC'::text, c.at) AS u FROM app.c c JOIN app.d d ON true;`,
			` SELECT SUBSTRING(c.name FROM 1 FOR 3) AS s, TRIM(BOTH ' '::text FROM c.name) AS t, (c.at AT TIME ZONE 'UTC'::text) AS u FROM app.c c JOIN app.d d ON true;`},
		{"whitespace and redundant parentheses",
			`SELECT a FROM app.t WHERE ((a > 1));`,
			"SELECT  a\n FROM app.t\n WHERE a > 1;"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := canonQuery(c.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := canonQuery(c.b)
			if err != nil {
				t.Fatal(err)
			}
			if a != b {
				t.Errorf("want equal:\n%s\n%s", a, b)
			}
		})
	}
}

func TestCanonQueryDifferent(t *testing.T) {
	cases := []struct{ name, a, b string }{
		{"constant", `SELECT a FROM app.t WHERE a = 'x'::text;`, `SELECT a FROM app.t WHERE a = 'y'::text;`},
		{"number", `SELECT a * 2 AS d FROM app.t;`, `SELECT a * 3 AS d FROM app.t;`},
		{"operator", `SELECT a FROM app.t WHERE a > 1;`, `SELECT a FROM app.t WHERE a >= 1;`},
		{"column alias", `SELECT a AS x FROM app.t;`, `SELECT a AS y FROM app.t;`},
		{"relation schema", `SELECT a FROM app.t;`, `SELECT a FROM other.t;`},
		{"function schema", `SELECT app.lower(a) AS l FROM app.t;`, `SELECT lower(a) AS l FROM app.t;`},
		{"cast type", `SELECT a::integer AS i FROM app.t;`, `SELECT a::bigint AS i FROM app.t;`},
		{"qualifier with two relations", `SELECT t.a FROM app.t t, app.u u;`, `SELECT u.a FROM app.t t, app.u u;`},
		{"join type", `SELECT t.a FROM app.t t JOIN app.u u ON true;`, `SELECT t.a FROM app.t t LEFT JOIN app.u u ON true;`},
		{"order direction", `SELECT a FROM app.t ORDER BY a;`, `SELECT a FROM app.t ORDER BY a DESC;`},
		{"substring arguments", `SELECT "substring"(a, 1, 3) AS s FROM app.t;`, `SELECT SUBSTRING(a FROM 1 FOR 4) AS s FROM app.t;`},
		{"union kind", `SELECT 1 AS a UNION SELECT 2;`, `SELECT 1 AS a UNION ALL SELECT 2;`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := canonQuery(c.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := canonQuery(c.b)
			if err != nil {
				t.Fatal(err)
			}
			if a == b {
				t.Errorf("want different, both are:\n%s", a)
			}
		})
	}
}

func TestCanonConstraint(t *testing.T) {
	// PG 13 stores `status IN ('active', 'blocked')` on a varchar column as
	// an array cast; the same text replayed on PG 16 stores per-element casts.
	pg13 := `CHECK (((status)::text = ANY ((ARRAY['active'::character varying, 'blocked'::character varying])::text[])))`
	pg16 := `CHECK (((status)::text = ANY (ARRAY[('active'::character varying)::text, ('blocked'::character varying)::text])))`
	other := `CHECK (((status)::text = ANY (ARRAY[('active'::character varying)::text, ('closed'::character varying)::text])))`
	a := mustCanon(t, canonConstraint, pg13)
	b := mustCanon(t, canonConstraint, pg16)
	c := mustCanon(t, canonConstraint, other)
	if a != b {
		t.Errorf("PG 13 and PG 16 forms differ:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("a changed label compares equal")
	}
	// DEFERRABLE and NOT VALID are their own attributes.
	fk := `FOREIGN KEY (customer_id) REFERENCES app.customers(id) ON DELETE CASCADE`
	if mustCanon(t, canonConstraint, fk) != mustCanon(t, canonConstraint, fk+" DEFERRABLE INITIALLY DEFERRED NOT VALID") {
		t.Errorf("deferrable/not valid should not change the definition's tree")
	}
	if mustCanon(t, canonConstraint, fk) == mustCanon(t, canonConstraint, `FOREIGN KEY (customer_id) REFERENCES app.customers(id) ON DELETE RESTRICT`) {
		t.Errorf("a changed FK action compares equal")
	}
}

func TestCanonExprAndArgs(t *testing.T) {
	if mustCanon(t, canonExpr, `((CURRENT_DATE + '30 days'::interval))::date`) != mustCanon(t, canonExpr, `(CURRENT_DATE + '30 days'::interval)::date`) {
		t.Errorf("parentheses changed an expression")
	}
	if mustCanon(t, canonExpr, `(CURRENT_DATE + '30 days'::interval)::date`) == mustCanon(t, canonExpr, `(CURRENT_DATE + '31 days'::interval)::date`) {
		t.Errorf("a changed interval compares equal")
	}
	if mustCanon(t, canonExpr, `pg_catalog.lower(x)`) != mustCanon(t, canonExpr, `lower(x)`) {
		t.Errorf("pg_catalog qualification should not matter")
	}
	// PG 14+ prints IN for procedure arguments.
	if mustCanon(t, canonFuncArgs, `older_than interval DEFAULT '90 days'::interval`) != mustCanon(t, canonFuncArgs, `IN older_than interval DEFAULT '90 days'::interval`) {
		t.Errorf("IN should equal no mode")
	}
	if mustCanon(t, canonFuncArgs, `INOUT x integer`) == mustCanon(t, canonFuncArgs, `IN x integer`) {
		t.Errorf("INOUT compares equal to IN")
	}
}

func TestIndexColumnText(t *testing.T) {
	def := `CREATE INDEX orders_due ON ONLY app.orders USING btree (due_on DESC NULLS LAST, (lower(("x(")::text))) INCLUDE (amount) WHERE (a > 1)`
	cols, incl, ok := indexColumnText(def, "btree")
	if !ok || cols != `due_on DESC NULLS LAST, (lower(("x(")::text))` || incl != "amount" {
		t.Errorf("got columns %q include %q ok %v", cols, incl, ok)
	}
	if _, _, ok := indexColumnText(def, "hash"); ok {
		t.Errorf("a definition that does not split must say so")
	}
}

func mustCanon(t *testing.T, f func(string) (string, error), s string) string {
	t.Helper()
	c, err := f(s)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return c
}
