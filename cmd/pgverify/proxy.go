package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/pgverify/pgverify/failover/proxy"
	"github.com/pgverify/pgverify/internal/dbconn"
)

// ProxyOptions are the inputs of `pgverify proxy`.
type ProxyOptions struct {
	Listen      string
	Backend     string
	AdminListen string
	AuthFile    string
	TLSCert     string
	TLSKey      string
	MaxClients  int
	MaxPause    time.Duration

	// ready, when set, receives the bound addresses (tests listen on :0).
	ready          func(client, admin net.Addr)
	stdout, stderr io.Writer
}

func newProxyCmd() *cobra.Command {
	opts := &ProxyOptions{}
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --backend DSN",
		Short: "Run the session-preserving proxy that carries the zero-downtime switch",
		Long: `Accept PostgreSQL clients on --listen and give each one its own session on
the backend (one backend connection per client: not a pooler). Clients
authenticate to the proxy with SCRAM-SHA-256 or md5 against --auth-file
(PgBouncer's userlist.txt format), or are trusted when no auth file is given
(loopback only). The proxy logs in to the backend as the client's user with
the auth file's plain password, the --backend DSN's password, or .pgpass.

The admin console on --admin-listen speaks the PostgreSQL protocol (psql
works): SHOW CLIENTS, SHOW STATE, PAUSE [timeout], RESUME, SWITCH 'dsn'.
PAUSE returns once no client is inside a transaction and holds every new
transaction; SWITCH moves every session to a new backend, carrying startup
parameters, SETs and prepared statements; RESUME releases the held
transactions. See docs/proxy.md.

Runs until interrupted (SIGINT/SIGTERM).`,
		Example: `  pgverify proxy --listen 127.0.0.1:6432 --backend 'postgres://app@old-db:5432/app' --admin-listen 127.0.0.1:6433
  pgverify proxy --listen 0.0.0.0:6432 --backend 'host=old-db dbname=app' --auth-file userlist.txt --tls-cert proxy.crt --tls-key proxy.key
  psql -h 127.0.0.1 -p 6433 -c 'PAUSE 10s' -c "SWITCH 'postgres://app@new-db:5432/app'" -c 'RESUME'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runProxy(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:6432", "address clients connect to")
	f.StringVar(&opts.Backend, "backend", "", "DSN of the current backend (default $PGVERIFY_BACKEND)")
	f.StringVar(&opts.AdminListen, "admin-listen", "", "address of the admin console (off when empty)")
	f.StringVar(&opts.AuthFile, "auth-file", "", "userlist.txt with the users clients log in as (default: trust, loopback only)")
	f.StringVar(&opts.TLSCert, "tls-cert", "", "certificate (PEM) for clients that ask for TLS")
	f.StringVar(&opts.TLSKey, "tls-key", "", "private key (PEM) of --tls-cert")
	f.IntVar(&opts.MaxClients, "max-clients", 100, "most client sessions at once")
	f.DurationVar(&opts.MaxPause, "max-pause", time.Minute, "a pause longer than this resumes by itself")
	return cmd
}

// proxyConfig checks the flags and builds the proxy's configuration.
func proxyConfig(opts *ProxyOptions) (proxy.Config, error) {
	cfg := proxy.Config{MaxClients: opts.MaxClients, MaxPause: opts.MaxPause}
	cfg.Backend = dbconn.Resolve(opts.Backend, "PGVERIFY_BACKEND")
	if cfg.Backend == "" {
		return cfg, flagErrorf("no backend: pass --backend DSN or set PGVERIFY_BACKEND")
	}
	if opts.MaxClients <= 0 {
		return cfg, flagErrorf("--max-clients must be positive, got %d", opts.MaxClients)
	}
	if opts.MaxPause <= 0 {
		return cfg, flagErrorf("--max-pause must be positive, got %s", opts.MaxPause)
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return cfg, flagErrorf("give --tls-cert and --tls-key together")
	}
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return cfg, fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if opts.AuthFile != "" {
		ul, err := proxy.LoadUserlist(opts.AuthFile)
		if err != nil {
			return cfg, err
		}
		cfg.Users = ul
	} else {
		for _, a := range []string{opts.Listen, opts.AdminListen} {
			if a != "" && !proxy.IsLoopback(a) {
				return cfg, flagErrorf("without --auth-file clients are trusted, which is allowed on loopback only: %s is not (listen on 127.0.0.1 or give --auth-file)", a)
			}
		}
	}
	return cfg, nil
}

func runProxy(ctx context.Context, opts *ProxyOptions) error {
	cfg, err := proxyConfig(opts)
	if err != nil {
		return err
	}
	p, err := proxy.New(cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on --listen %s: %w", opts.Listen, err)
	}
	var al net.Listener
	if opts.AdminListen != "" {
		if al, err = net.Listen("tcp", opts.AdminListen); err != nil {
			l.Close()
			return fmt.Errorf("cannot listen on --admin-listen %s: %w", opts.AdminListen, err)
		}
	}
	if cfg.Users == nil {
		fmt.Fprintln(opts.stderr, "pgverify proxy: warning: no --auth-file: trusting every loopback client")
	}
	admin := "off"
	var adminAddr net.Addr
	if al != nil {
		adminAddr = al.Addr()
		admin = adminAddr.String()
	}
	fmt.Fprintf(opts.stderr, "pgverify proxy: listening on %s, admin console %s, backend %s\n", l.Addr(), admin, dbconn.Redact(cfg.Backend))
	if opts.ready != nil {
		opts.ready(l.Addr(), adminAddr)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.Serve(gctx, l) })
	if al != nil {
		g.Go(func() error { return p.ServeAdmin(gctx, al) })
	}
	return g.Wait()
}
