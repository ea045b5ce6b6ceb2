package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestParseUserlist(t *testing.T) {
	ul, err := ParseUserlist([]byte(`; comment
"plain" "pa""ss"
"hashed" "` + MD5Hash("hashed", "pw") + `"
"scram" "` + SCRAMVerifier("pw", []byte("0123456789abcdef"), 4096) + `"
`))
	if err != nil {
		t.Fatal(err)
	}
	if ul["plain"].Plain != `pa"ss` || ul["plain"].SCRAM == nil {
		t.Errorf("plain: %+v", ul["plain"])
	}
	if ul["hashed"].MD5 == "" || ul["scram"].SCRAM == nil || ul["scram"].SCRAM.iter != 4096 {
		t.Errorf("hashed/scram: %+v %+v", ul["hashed"], ul["scram"])
	}
	if _, err := ParseUserlist([]byte(`plain "x"`)); err == nil {
		t.Error("unquoted user accepted")
	}
}

// TestClientAuth: SCRAM (plain password and stored verifier) and md5
// against a userlist; wrong passwords and unknown users are refused. The
// md5 user's backend password comes from a .pgpass file.
func TestClientAuth(t *testing.T) {
	needPG(t, 16)
	c := clusters.Get(t, 16)
	db := clusters.NewDB(t, c, "auth")
	for _, u := range []string{"scram_v", "md5_u"} {
		if err := c.Exec(context.Background(), db, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'secret_%s'", u, u)); err != nil &&
			!strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	pass := filepath.Join(dir, "pgpass")
	if err := os.WriteFile(pass, []byte(fmt.Sprintf("127.0.0.1:%d:*:scram_v:secret_scram_v\n127.0.0.1:%d:*:md5_u:secret_md5_u\n", c.Port, c.Port)), 0o600); err != nil {
		t.Fatal(err)
	}
	ul, err := ParseUserlist([]byte(fmt.Sprintf("\"postgres\" \"%s\"\n\"scram_v\" \"%s\"\n\"md5_u\" \"%s\"\n",
		c.Password, SCRAMVerifier("client_pw", []byte("saltsaltsaltsalt"), 4096), MD5Hash("md5_u", "client_md5"))))
	if err != nil {
		t.Fatal(err)
	}
	r := startProxy(t, Config{Backend: c.DSN(db), Users: ul, PassFile: pass})
	ctx := context.Background()
	for _, tc := range []struct{ user, pw, method string }{
		{"postgres", c.Password, "scram"},
		{"scram_v", "client_pw", "scram"},
		{"md5_u", "client_md5", "md5"},
	} {
		conn := connect(t, dsn(r.addr, tc.user, tc.pw, db, ""))
		if got := queryString(t, conn, "SELECT current_user::text"); got != tc.user {
			t.Errorf("%s: current_user %s", tc.user, got)
		}
		_ = tc.method
	}
	for _, tc := range []struct{ user, pw string }{{"postgres", "wrong"}, {"md5_u", "secret_md5_u"}, {"nobody", "x"}} {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := pgx.Connect(cctx, dsn(r.addr, tc.user, tc.pw, db, ""))
		cancel()
		if err == nil {
			conn.Close(ctx)
			t.Errorf("%s with a wrong password logged in", tc.user)
			continue
		}
		if !strings.Contains(err.Error(), "password authentication failed") {
			t.Errorf("%s: unexpected error %v", tc.user, err)
		}
	}
}

// TestTrustLoopbackOnly: without an auth file the proxy trusts loopback
// clients and refuses to listen elsewhere.
func TestTrustLoopbackOnly(t *testing.T) {
	needPG(t, 16)
	r, _, db := trustProxy(t, 16)
	conn := connect(t, via(r, db))
	if got := queryString(t, conn, "SELECT 'trusted'"); got != "trusted" {
		t.Fatal(got)
	}
	if IsLoopback("10.0.0.1:5432") || !IsLoopback("127.0.0.1:5432") || !IsLoopback("[::1]:1") {
		t.Error("IsLoopback")
	}
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// TestSSL: SSLRequest is answered 'N' without a certificate (require fails,
// prefer falls back) and TLS is terminated with one.
func TestSSL(t *testing.T) {
	needPG(t, 16)
	r, c, db := trustProxy(t, 16)
	ctx := context.Background()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(cctx, dsn(r.addr, "postgres", "", db, "sslmode=require")); err == nil {
		conn.Close(ctx)
		t.Fatal("sslmode=require succeeded without a certificate")
	} else if !strings.Contains(err.Error(), "refused TLS") && !strings.Contains(err.Error(), "SSL") {
		t.Logf("require without cert: %v", err)
	}
	conn := connect(t, dsn(r.addr, "postgres", "", db, "sslmode=prefer"))
	if got := queryString(t, conn, "SELECT 'plain'"); got != "plain" {
		t.Fatal(got)
	}

	rt := startProxy(t, Config{Backend: c.DSN(db), TLS: selfSigned(t)})
	tconn := connect(t, dsn(rt.addr, "postgres", "", db, "sslmode=require"))
	if got := queryString(t, tconn, "SELECT 'over tls'"); got != "over tls" {
		t.Fatal(got)
	}
	if _, ok := tconn.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("client connection is %T, not TLS", tconn.PgConn().Conn())
	}
}

func TestMayMatter(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT abalance FROM pgbench_accounts WHERE aid = 1": false,
		"set search_path = x":              true,
		"UPDATE t SET v = 1":               true,
		"select pg_advisory_lock(1)":       true,
		"LISTEN x":                         true,
		"CREATE TEMPORARY TABLE x (i int)": true,
		"select 1":                         false,
	} {
		if got := mayMatter(q); got != want {
			t.Errorf("mayMatter(%q) = %v", q, got)
		}
	}
}
