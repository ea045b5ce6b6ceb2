package pgxswitch

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Handler is the control endpoint the coordinator drives:
//
//	GET  /pgverify/v1/status
//	POST /pgverify/v1/pause?timeout_ms=N   returns when drained (or 409 and resumed)
//	POST /pgverify/v1/switch               body {"dsn": "..."} (no password needed)
//	POST /pgverify/v1/resume               commits a prepared switch, releases
//	POST /pgverify/v1/rollback             discards it, releases on the old cluster
//
// Every request carries "Authorization: Bearer TOKEN".
func (p *Pool) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	auth := func(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			got := r.Header.Get("Authorization")
			if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+token)) != 1 {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			if err := h(w, r); err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusConflict)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(p.Status())
		}
	}
	mux.HandleFunc("GET /pgverify/v1/status", auth(func(http.ResponseWriter, *http.Request) error { return nil }))
	mux.HandleFunc("POST /pgverify/v1/pause", auth(func(_ http.ResponseWriter, r *http.Request) error {
		ms, _ := strconv.Atoi(r.URL.Query().Get("timeout_ms"))
		if ms <= 0 {
			ms = 5000
		}
		ctx, cancel := context.WithTimeout(r.Context(), time.Duration(ms)*time.Millisecond)
		defer cancel()
		return p.Pause(ctx)
	}))
	mux.HandleFunc("POST /pgverify/v1/switch", auth(func(_ http.ResponseWriter, r *http.Request) error {
		var body struct{ DSN string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil || body.DSN == "" {
			return errors.New("switch: want {\"dsn\": \"...\"}")
		}
		return p.Switch(r.Context(), body.DSN)
	}))
	mux.HandleFunc("POST /pgverify/v1/resume", auth(func(http.ResponseWriter, *http.Request) error { p.Resume(); return nil }))
	mux.HandleFunc("POST /pgverify/v1/rollback", auth(func(http.ResponseWriter, *http.Request) error { p.Rollback(); return nil }))
	return mux
}

// ServeControl serves Handler(token) on l until ctx ends.
func (p *Pool) ServeControl(ctx context.Context, l net.Listener, token string) error {
	srv := &http.Server{Handler: p.Handler(token), ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Member is the coordinator's side of one application's control endpoint.
type Member struct {
	URL, Token string
	Client     *http.Client
}

// Name identifies the member in reports.
func (m *Member) Name() string { return "app " + m.URL }

func (m *Member) do(ctx context.Context, method, path string, body any) (Status, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.URL+path, rd)
	if err != nil {
		return Status{}, err
	}
	req.Header.Set("Authorization", "Bearer "+m.Token)
	c := m.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("%s: %w", m.Name(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return Status{}, fmt.Errorf("%s: %s", m.Name(), e.Error)
	}
	var st Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return Status{}, fmt.Errorf("%s: %w", m.Name(), err)
	}
	return st, nil
}

// Check reaches the member.
func (m *Member) Check(ctx context.Context) error {
	_, err := m.do(ctx, http.MethodGet, "/pgverify/v1/status", nil)
	return err
}

// Pause pauses the member's pool, bounded by ctx's deadline.
func (m *Member) Pause(ctx context.Context) error {
	ms := int64(5000)
	if d, ok := ctx.Deadline(); ok {
		ms = max(1, time.Until(d).Milliseconds())
	}
	_, err := m.do(ctx, http.MethodPost, "/pgverify/v1/pause?timeout_ms="+strconv.FormatInt(ms, 10), nil)
	return err
}

// Switch points the member's pool at dsn's host, port and database. Only
// those are sent: the application keeps its own user, password and
// settings, and the coordinator's credentials never leave it.
func (m *Member) Switch(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("%s: target: %s", m.Name(), stripPassword(err.Error()))
	}
	addr := fmt.Sprintf("host=%s port=%d dbname=%s", cfg.Host, cfg.Port, quoteConnValue(cfg.Database))
	_, err = m.do(ctx, http.MethodPost, "/pgverify/v1/switch", map[string]string{"dsn": addr})
	return err
}

func quoteConnValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// Resume commits the member's prepared switch and resumes its pool.
func (m *Member) Resume(ctx context.Context) error {
	_, err := m.do(ctx, http.MethodPost, "/pgverify/v1/resume", nil)
	return err
}

// Rollback discards the member's prepared switch and resumes it where it was.
func (m *Member) Rollback(ctx context.Context) error {
	_, err := m.do(ctx, http.MethodPost, "/pgverify/v1/rollback", nil)
	return err
}

// Status reads the member's pool state.
func (m *Member) Status(ctx context.Context) (Status, error) {
	return m.do(ctx, http.MethodGet, "/pgverify/v1/status", nil)
}
