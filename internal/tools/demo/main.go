// Command demo is `make demo`: it starts a PG 13 and a PG 16 cluster under
// .demo/, loads a small app schema with data on 13, copies the schema to 16
// with pg_dump --schema-only (as an upgrade does), replicates it with a
// publication and a subscription, damages a few rows on 16 and runs
// `pgverify tables`. `demo down` (make demo-clean) stops and removes them.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

const schema = `
CREATE SCHEMA billing;
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE FUNCTION public.is_valid_email(addr text) RETURNS boolean
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog
  AS $$ SELECT addr ~ '^[^@\s]+@[^@\s]+$' $$;
CREATE TABLE public.accounts (
  id bigserial PRIMARY KEY,
  email text NOT NULL CHECK (public.is_valid_email(email)),
  nick text,
  balance numeric(14,2) NOT NULL DEFAULT 0,
  settings jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.orders (
  id uuid PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES public.accounts(id),
  status order_status NOT NULL DEFAULT 'new',
  total numeric(12,2) NOT NULL,
  tags text[],
  placed_at timestamptz NOT NULL
);
CREATE TABLE public."Order Items" (
  order_id uuid NOT NULL REFERENCES public.orders(id),
  line int NOT NULL,
  sku text NOT NULL,
  qty int NOT NULL CHECK (qty > 0),
  unit_price numeric(10,2) NOT NULL,
  PRIMARY KEY (order_id, line)
);
CREATE TABLE billing.transactions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL,
  amount numeric(14,2) NOT NULL,
  created_at timestamp NOT NULL
);
CREATE TABLE public.audit_log (at timestamptz NOT NULL, actor text, action text NOT NULL, detail jsonb);
`

const data = `
INSERT INTO public.accounts (email, nick, balance, settings, created_at)
SELECT 'user' || g || '@example.com', CASE WHEN g % 5 = 0 THEN NULL ELSE 'nick' || g END, (g % 1000) * 1.25,
       jsonb_build_object('theme', CASE WHEN g % 2 = 0 THEN 'dark' ELSE 'light' END, 'beta', g % 7 = 0),
       timestamptz '2024-01-01' + g * interval '37 minutes'
FROM generate_series(1, 20000) g;
INSERT INTO public.orders
SELECT md5('order' || g)::uuid, 1 + g % 20000, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4]::order_status,
       (g % 500) + 0.99, ARRAY['t' || g % 3], timestamptz '2024-03-01' + g * interval '3 minutes'
FROM generate_series(1, 30000) g;
INSERT INTO public."Order Items"
SELECT md5('order' || g)::uuid, l, 'SKU-' || (g * l) % 997, 1 + l, 9.99 * l
FROM generate_series(1, 30000) g, generate_series(1, 3) l;
INSERT INTO billing.transactions (account_id, amount, created_at)
SELECT 1 + g % 20000, ((g % 200) - 100) * 1.5, timestamp '2024-01-01' + g * interval '1 minute'
FROM generate_series(1, 50000) g;
INSERT INTO public.audit_log SELECT timestamptz '2024-01-01' + g * interval '1 hour', 'admin', 'login', NULL FROM generate_series(1, 500) g;
ANALYZE;
`

// damage is what a careless seeding step or a stray write might do.
const damage = `
DELETE FROM billing.transactions WHERE id IN (4242, 31337);
UPDATE public.accounts SET nick = 'mallory' WHERE id = 1234;
UPDATE public.orders SET total = 100.990 WHERE id = md5('order77')::uuid;
INSERT INTO public.audit_log VALUES ('2024-06-01', 'ghost', 'login', NULL);
`

func main() {
	cmd := "up"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	var err error
	switch cmd {
	case "up":
		err = up(context.Background())
	case "down":
		err = down()
	default:
		err = fmt.Errorf("usage: demo up|down")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
}

func demoDir() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, ".demo")
}

func step(format string, a ...any) { fmt.Printf("==> "+format+"\n", a...) }

func up(ctx context.Context) error {
	dir := demoDir()
	if _, err := os.Stat(dir); err == nil {
		step("stopping the previous demo")
		if err := down(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	step("starting PostgreSQL 13 (source) and 16 (target) on free loopback ports")
	src, err := pgcluster.Start(ctx, pgcluster.Options{Major: 13, Dir: filepath.Join(dir, "pg13"), Keep: true})
	if err != nil {
		return err
	}
	dst, err := pgcluster.Start(ctx, pgcluster.Options{Major: 16, Dir: filepath.Join(dir, "pg16"), Keep: true})
	if err != nil {
		_ = src.Stop()
		return err
	}
	// Passwords go to a .pgpass file, never to the screen.
	pgpass := filepath.Join(dir, "pgpass")
	pp := fmt.Sprintf("127.0.0.1:%d:*:postgres:%s\n127.0.0.1:%d:*:postgres:%s\n", src.Port, src.Password, dst.Port, dst.Password)
	if err := os.WriteFile(pgpass, []byte(pp), 0o600); err != nil {
		return err
	}
	os.Setenv("PGPASSFILE", pgpass)
	srcURL, dstURL := noPassword(src, "shop"), noPassword(dst, "shop")

	step("loading the app schema and data on PG 13")
	if err := src.CreateDB(ctx, "shop"); err != nil {
		return err
	}
	if err := src.Exec(ctx, "shop", schema+data); err != nil {
		return err
	}
	if err := dst.CreateDB(ctx, "shop"); err != nil {
		return err
	}
	step("copying the schema to PG 16 with pg_dump --schema-only | psql")
	if err := copySchema(ctx, src, dst, srcURL, dstURL); err != nil {
		return err
	}
	step("replicating: CREATE PUBLICATION on 13, CREATE SUBSCRIPTION on 16, waiting for the initial copy")
	t0 := time.Now()
	if err := pgcluster.Subscribe(ctx, src, dst, "shop", "demo_upgrade"); err != nil {
		return err
	}
	fmt.Printf("    synced in %s\n", time.Since(t0).Round(time.Millisecond))
	step("damaging a few rows on the target (what a bad seeding step or stray write does)")
	fmt.Print(indent(strings.TrimSpace(damage)))
	if err := dst.Exec(ctx, "shop", damage); err != nil {
		return err
	}
	env := fmt.Sprintf("export PGPASSFILE=%s PGVERIFY_SOURCE='%s' PGVERIFY_TARGET='%s'\n", pgpass, srcURL, dstURL)
	if err := os.WriteFile(filepath.Join(dir, "env"), []byte(env), 0o644); err != nil {
		return err
	}
	step("pgverify tables --source %s --target %s", srcURL, dstURL)
	fmt.Println()
	bin, _ := filepath.Abs("bin/pgverify")
	c := exec.CommandContext(ctx, bin, "tables", "--source", srcURL, "--target", dstURL)
	c.Stdout, c.Stderr = os.Stdout, os.Stderr
	err = c.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		return err
	}
	fmt.Printf("\npgverify exited %d (0 = equal, 1 = differences, 2 = could not verify)\n\n", code)
	fmt.Printf("The clusters keep running. Try more:\n")
	fmt.Printf("  source %s\n", filepath.Join(dir, "env"))
	fmt.Printf("  bin/pgverify tables --format json --table billing.transactions\n")
	fmt.Printf("  bin/pgverify watermark --table billing.transactions --column id\n")
	fmt.Printf("  bin/pgverify sequences\n")
	fmt.Printf("  bin/pgverify preflight\n")
	fmt.Printf("  bin/pgverify schema diff\n")
	return nil
}

func noPassword(c *pgcluster.Cluster, db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: fmt.Sprintf("127.0.0.1:%d", c.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// copySchema pipes pg_dump --schema-only of the source into psql on the
// target, as an upgrade does. pg_dump must be at least the source's major.
func copySchema(ctx context.Context, src, dst *pgcluster.Cluster, srcURL, dstURL string) error {
	dump, err := exec.LookPath("pg_dump")
	if err != nil {
		step("pg_dump not found: creating the schema on PG 16 directly")
		return dst.Exec(ctx, "shop", schema)
	}
	out, err := exec.CommandContext(ctx, dump, "--schema-only", "--no-owner", "--no-publications", "--no-subscriptions", srcURL).Output()
	if err != nil {
		return fmt.Errorf("pg_dump: %w", err)
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		return err
	}
	c := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", dstURL)
	c.Stdin = strings.NewReader(string(out))
	if b, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("psql: %w: %s", err, b)
	}
	return nil
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

func down() error {
	dir := demoDir()
	for _, m := range []string{"13", "16"} {
		data := filepath.Join(dir, "pg"+m, "data")
		if _, err := os.Stat(data); err != nil {
			continue
		}
		bin, err := pgcluster.BinDir(atoi(m))
		if err != nil {
			return err
		}
		c := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
		if os.Geteuid() == 0 {
			c = exec.Command("su", "postgres", "-s", "/bin/sh", "-c", fmt.Sprintf("%s -D %s -m fast -w stop", filepath.Join(bin, "pg_ctl"), data))
		}
		_ = c.Run()
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	step("demo clusters stopped and .demo removed")
	return nil
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
