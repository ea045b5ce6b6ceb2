package proxy

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Secret is one user's entry of the auth file: a plain password, an md5
// hash ("md5" + md5(password + user)) or a SCRAM-SHA-256 verifier
// ("SCRAM-SHA-256$iter:salt$storedkey:serverkey"), as in pg_authid.
type Secret struct {
	Plain string // set when the file holds the password itself
	MD5   string // "md5..." hash
	SCRAM *scramVerifier
}

// Userlist maps user names to secrets (PgBouncer's userlist.txt).
type Userlist map[string]Secret

// LoadUserlist reads a PgBouncer userlist.txt: one `"user" "secret"` per
// line, a double quote inside a value doubled, lines starting with ; or #
// ignored.
func LoadUserlist(path string) (Userlist, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading auth file: %w", err)
	}
	return ParseUserlist(b)
}

// ParseUserlist parses the userlist.txt format.
func ParseUserlist(b []byte) (Userlist, error) {
	ul := Userlist{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == ';' || s[0] == '#' {
			continue
		}
		user, rest, err := quoted(s)
		if err != nil {
			return nil, fmt.Errorf("auth file line %d: %w", line, err)
		}
		secret, _, err := quoted(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("auth file line %d: %w", line, err)
		}
		sec, err := parseSecret(secret)
		if err != nil {
			return nil, fmt.Errorf("auth file line %d (user %q): %w", line, user, err)
		}
		ul[user] = sec
	}
	return ul, sc.Err()
}

func quoted(s string) (string, string, error) {
	if s == "" || s[0] != '"' {
		return "", "", errors.New(`expected a "quoted" value`)
	}
	var out strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == '"' {
			if i+1 < len(s) && s[i+1] == '"' {
				out.WriteByte('"')
				i++
				continue
			}
			return out.String(), s[i+1:], nil
		}
		out.WriteByte(s[i])
	}
	return "", "", errors.New("unterminated quoted value")
}

func parseSecret(s string) (Secret, error) {
	switch {
	case strings.HasPrefix(s, "SCRAM-SHA-256$"):
		v, err := parseSCRAMVerifier(s)
		if err != nil {
			return Secret{}, err
		}
		return Secret{SCRAM: v}, nil
	case len(s) == 35 && strings.HasPrefix(s, "md5") && isHex(s[3:]):
		return Secret{MD5: s}, nil
	}
	// A plain password is offered as SCRAM; derive the verifier once.
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	return Secret{Plain: s, SCRAM: deriveSCRAM(s, salt, 4096)}, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// MD5Hash is the md5 secret of a password, as pg_authid stores it.
func MD5Hash(user, password string) string {
	h := md5.Sum([]byte(password + user))
	return "md5" + hex.EncodeToString(h[:])
}

type scramVerifier struct {
	iter                 int
	salt                 []byte
	storedKey, serverKey []byte
}

func parseSCRAMVerifier(s string) (*scramVerifier, error) {
	// SCRAM-SHA-256$<iter>:<salt>$<storedkey>:<serverkey>
	parts := strings.Split(strings.TrimPrefix(s, "SCRAM-SHA-256$"), "$")
	if len(parts) != 2 {
		return nil, errors.New("malformed SCRAM-SHA-256 verifier")
	}
	is, salt64, ok := strings.Cut(parts[0], ":")
	sk64, svk64, ok2 := strings.Cut(parts[1], ":")
	if !ok || !ok2 {
		return nil, errors.New("malformed SCRAM-SHA-256 verifier")
	}
	iter, err := strconv.Atoi(is)
	if err != nil || iter <= 0 {
		return nil, errors.New("malformed SCRAM-SHA-256 iteration count")
	}
	v := &scramVerifier{iter: iter}
	for _, f := range []struct {
		s   string
		dst *[]byte
	}{{salt64, &v.salt}, {sk64, &v.storedKey}, {svk64, &v.serverKey}} {
		if *f.dst, err = base64.StdEncoding.DecodeString(f.s); err != nil {
			return nil, errors.New("malformed SCRAM-SHA-256 verifier (base64)")
		}
	}
	return v, nil
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// SCRAMVerifier derives a verifier from a password, as the server does.
func SCRAMVerifier(password string, salt []byte, iter int) string {
	v := deriveSCRAM(password, salt, iter)
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, base64.StdEncoding.EncodeToString(salt),
		base64.StdEncoding.EncodeToString(v.storedKey), base64.StdEncoding.EncodeToString(v.serverKey))
}

func deriveSCRAM(password string, salt []byte, iter int) *scramVerifier {
	// SASLprep is skipped: passwords are used as given (ASCII in practice).
	salted, _ := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	stored := sha256.Sum256(clientKey)
	return &scramVerifier{iter: iter, salt: salt, storedKey: stored[:], serverKey: hmacSHA256(salted, []byte("Server Key"))}
}

// errAuth is a failed client authentication; the message goes to the client.
type errAuth struct{ user string }

func (e *errAuth) Error() string {
	return fmt.Sprintf("password authentication failed for user %q", e.user)
}

// authConn is what client authentication needs from a session.
type authConn interface {
	send(msgs ...encoder) error
	recv() (byte, []byte, error)
}

// authenticate runs the client's password exchange for user against sec.
func authenticate(c authConn, user string, sec Secret) error {
	switch {
	case sec.MD5 != "":
		return authMD5(c, user, sec.MD5)
	case sec.SCRAM != nil:
		return authSCRAM(c, user, sec.SCRAM)
	}
	return errors.New("no usable secret")
}

func authMD5(c authConn, user, hash string) error {
	var salt [4]byte
	_, _ = rand.Read(salt[:])
	if err := c.send(&pgproto3.AuthenticationMD5Password{Salt: salt}); err != nil {
		return err
	}
	typ, msg, err := c.recv()
	if err != nil {
		return err
	}
	if typ != 'p' {
		return fmt.Errorf("expected a password message, got %q", typ)
	}
	got, _, err := cstring(msg[5:])
	if err != nil {
		return err
	}
	h := md5.Sum(append([]byte(hash[3:]), salt[:]...))
	want := "md5" + hex.EncodeToString(h[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return &errAuth{user}
	}
	return nil
}

func authSCRAM(c authConn, user string, v *scramVerifier) error {
	if err := c.send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}}); err != nil {
		return err
	}
	typ, msg, err := c.recv()
	if err != nil {
		return err
	}
	var init pgproto3.SASLInitialResponse
	if typ != 'p' || init.Decode(msg[5:]) != nil {
		return errors.New("expected a SASLInitialResponse")
	}
	if init.AuthMechanism != "SCRAM-SHA-256" {
		return fmt.Errorf("unsupported SASL mechanism %q", init.AuthMechanism)
	}
	// client-first-message: gs2-header "n,," (or "y,,"), then n=,r=nonce
	cf := string(init.Data)
	if !strings.HasPrefix(cf, "n,") && !strings.HasPrefix(cf, "y,") {
		return errors.New("SCRAM: channel binding is not supported")
	}
	i := strings.Index(cf[2:], ",")
	if i < 0 {
		return errors.New("SCRAM: malformed client-first-message")
	}
	gs2 := cf[:2+i+1]
	clientFirstBare := cf[len(gs2):]
	var clientNonce string
	for _, a := range strings.Split(clientFirstBare, ",") {
		if strings.HasPrefix(a, "r=") {
			clientNonce = a[2:]
		}
	}
	if clientNonce == "" {
		return errors.New("SCRAM: no client nonce")
	}
	sn := make([]byte, 18)
	_, _ = rand.Read(sn)
	nonce := clientNonce + base64.StdEncoding.EncodeToString(sn)
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(v.salt), v.iter)
	if err := c.send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)}); err != nil {
		return err
	}
	typ, msg, err = c.recv()
	if err != nil {
		return err
	}
	if typ != 'p' {
		return errors.New("expected a SASLResponse")
	}
	clientFinal := string(msg[5:])
	pi := strings.LastIndex(clientFinal, ",p=")
	if pi < 0 {
		return errors.New("SCRAM: no client proof")
	}
	withoutProof := clientFinal[:pi]
	proof, err := base64.StdEncoding.DecodeString(clientFinal[pi+3:])
	if err != nil || len(proof) != sha256.Size {
		return errors.New("SCRAM: malformed client proof")
	}
	var gotNonce, cbind string
	for _, a := range strings.Split(withoutProof, ",") {
		switch {
		case strings.HasPrefix(a, "r="):
			gotNonce = a[2:]
		case strings.HasPrefix(a, "c="):
			cbind = a[2:]
		}
	}
	if gotNonce != nonce || cbind != base64.StdEncoding.EncodeToString([]byte(gs2)) {
		return errors.New("SCRAM: nonce or channel binding mismatch")
	}
	authMsg := []byte(clientFirstBare + "," + serverFirst + "," + withoutProof)
	sig := hmacSHA256(v.storedKey, authMsg)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	h := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(h[:], v.storedKey) != 1 {
		return &errAuth{user}
	}
	final := "v=" + base64.StdEncoding.EncodeToString(hmacSHA256(v.serverKey, authMsg))
	return c.send(&pgproto3.AuthenticationSASLFinal{Data: []byte(final)})
}
