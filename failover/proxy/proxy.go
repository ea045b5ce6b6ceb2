package proxy

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Config configures a Proxy.
type Config struct {
	// Backend is the DSN of the cluster clients are sent to first. Its user
	// and database are replaced by each client's; its password is used when
	// the client's user is the DSN's.
	Backend string
	// Users are the credentials clients authenticate with (and the plain
	// passwords the proxy logs in with). Nil means trust, which the proxy
	// accepts only from loopback clients.
	Users Userlist
	// TLS, when set, terminates TLS for clients that ask (SSLRequest).
	TLS *tls.Config
	// MaxClients bounds client sessions; 0 means 100.
	MaxClients int
	// PassFile is the .pgpass file for backend passwords; default
	// $PGPASSFILE, else ~/.pgpass.
	PassFile string
	// MaxPause is the pause's lease: the longest a pause holds new
	// transactions before the proxy resumes by itself, on the backend it
	// had when the pause began (a switch made inside the pause is undone),
	// so a coordinator that dies can neither stall the application nor
	// leave this proxy alone on the new cluster; 0 means one minute.
	MaxPause time.Duration
	// SwitchParallel is how many sessions open their new backend session at
	// once during Switch; 0 means 8.
	SwitchParallel int
}

// Proxy forwards client sessions to the current backend.
type Proxy struct {
	cfg Config

	switchMu sync.Mutex // one Switch at a time; Resume waits for it

	mu         sync.Mutex
	target     *target
	gen        int
	sessions   map[uint32]*session
	busy       int // sessions not at an idle boundary
	paused     bool
	pausedAt   time.Time
	resumed    chan struct{} // closed by Resume
	drained    chan struct{} // closed when busy reaches 0 while paused
	pauseTimer *time.Timer
	pauseSeq   int     // counts pauses, so a stale lease timer does nothing
	pauseFrom  *target // the backend when the pause began
	expired    string  // why the last pause ended by its lease, until the next pause
	lastSwitch *SwitchReport
	slots      chan struct{}
	spareTimer *time.Timer // closes unused prewarmed sessions
}

// spareTTL is how long prewarmed backend sessions wait for their switch.
const spareTTL = 2 * time.Minute

// New checks the configuration; nothing is dialled until a client connects.
func New(cfg Config) (*Proxy, error) {
	t, err := newTarget(cfg.Backend)
	if err != nil {
		return nil, err
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 100
	}
	if cfg.MaxPause <= 0 {
		cfg.MaxPause = time.Minute
	}
	if cfg.SwitchParallel <= 0 {
		cfg.SwitchParallel = 8
	}
	return &Proxy{cfg: cfg, target: t, sessions: map[uint32]*session{}, slots: make(chan struct{}, cfg.MaxClients)}, nil
}

// IsLoopback reports whether a listen or remote address is on loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve accepts client connections on l until ctx ends or l fails.
func (p *Proxy) Serve(ctx context.Context, l net.Listener) error {
	if p.cfg.Users == nil && !IsLoopback(l.Addr().String()) {
		return fmt.Errorf("trust authentication (no auth file) is allowed on loopback only, not on %s", l.Addr())
	}
	return serve(ctx, l, p.handle)
}

func serve(ctx context.Context, l net.Listener, handle func(context.Context, net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accepting connections: %w", err)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Shutting down ends every session: clients see the connection close.
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			handle(ctx, c)
		}()
	}
}

// Pause holds every session's next transaction and returns once no client
// is inside one: sessions in a transaction go on until ReadyForQuery 'I'. If
// ctx ends first, a pause this call started is undone and the error says how
// many clients were still in a transaction. A pause lasts until Resume, or
// at most Config.MaxPause.
func (p *Proxy) Pause(ctx context.Context) error {
	p.mu.Lock()
	started := !p.paused
	if started {
		p.paused, p.pausedAt, p.resumed = true, time.Now(), make(chan struct{})
		p.pauseSeq++
		p.pauseFrom, p.expired = p.target, ""
		seq := p.pauseSeq
		p.pauseTimer = time.AfterFunc(p.cfg.MaxPause, func() { p.expire(seq) })
	}
	if p.busy == 0 {
		p.mu.Unlock()
		return nil
	}
	if p.drained == nil {
		p.drained = make(chan struct{})
	}
	ch, resumed := p.drained, p.resumed
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-resumed:
		return errors.New("pause: resumed before every transaction had ended")
	case <-ctx.Done():
		p.mu.Lock()
		n := p.busy
		p.mu.Unlock()
		if started {
			p.Resume()
		}
		return fmt.Errorf("pause: %d client(s) still inside a transaction: %w", n, ctx.Err())
	}
}

// Resume releases the held transactions. It waits for a running Switch.
func (p *Proxy) Resume() {
	p.switchMu.Lock()
	defer p.switchMu.Unlock()
	p.resumeLocked()
}

// expire ends pause seq when its lease runs out: a switch made inside it
// is undone (sessions go back to the backend the pause began on), then the
// held transactions are released. The coordinator learns it from
// LeaseExpired (its RESUME fails).
func (p *Proxy) expire(seq int) {
	p.switchMu.Lock()
	defer p.switchMu.Unlock()
	p.mu.Lock()
	if !p.paused || p.pauseSeq != seq {
		p.mu.Unlock()
		return
	}
	from, moved := p.pauseFrom, p.target != p.pauseFrom
	p.mu.Unlock()
	why := fmt.Sprintf("the pause's lease (--max-pause %s) expired: the proxy resumed by itself on %s", p.cfg.MaxPause, from.redacted())
	if moved {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := p.switchLocked(ctx, from); err != nil {
			why += " (switching back failed: " + err.Error() + ")"
		} else {
			why += ", undoing the switch made inside the pause"
		}
		cancel()
	}
	p.mu.Lock()
	p.expired = why
	p.mu.Unlock()
	p.resumeLocked()
}

// LeaseExpired says why the last pause ended by its lease rather than by
// Resume, or "" (cleared by the next pause).
func (p *Proxy) LeaseExpired() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.expired
}

func (p *Proxy) resumeLocked() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		return
	}
	p.paused = false
	go p.dropSpares() // a rollback: nothing will take them
	close(p.resumed)
	p.pauseTimer.Stop()
	p.drained = nil
}

// ClosedSession is a session Switch closed, and why.
type ClosedSession struct {
	ID       uint32 `json:"id"`
	User     string `json:"user"`
	Database string `json:"database"`
	Reason   string `json:"reason"`
}

// SwitchReport is what a Switch did.
type SwitchReport struct {
	From, To string          // redacted DSNs
	Moved    int             // sessions now on the new backend
	Closed   []ClosedSession // sessions whose state could not move
	Failed   []ClosedSession // sessions that could not be restored on the new backend
	Duration time.Duration
	At       time.Time
}

// Switch points the proxy at a new backend and moves every session to it.
// The proxy must be paused with no client inside a transaction (Pause). The
// first session's new backend session is a probe: if it cannot be opened,
// nothing changes and the error is returned. Sessions whose state cannot
// move are closed with a FATAL message naming why; sessions whose state
// cannot be replayed are closed too (Failed).
func (p *Proxy) Switch(ctx context.Context, dsn string) (*SwitchReport, error) {
	t, err := newTarget(dsn)
	if err != nil {
		return nil, err
	}
	p.switchMu.Lock()
	defer p.switchMu.Unlock()
	return p.switchLocked(ctx, t)
}

func (p *Proxy) switchLocked(ctx context.Context, t *target) (*SwitchReport, error) {
	start := time.Now()
	p.mu.Lock()
	if !p.paused || p.busy > 0 {
		busy, expired := p.busy, p.expired
		p.mu.Unlock()
		if busy > 0 {
			return nil, fmt.Errorf("switch: %d client(s) inside a transaction: pause first", busy)
		}
		if expired != "" {
			return nil, errors.New("switch: " + expired)
		}
		return nil, errors.New("switch: the proxy is not paused: pause first")
	}
	old := p.target
	sessions := make([]*session, 0, len(p.sessions))
	for _, s := range p.sessions {
		sessions = append(sessions, s)
	}
	p.target = t
	p.gen++
	gen := p.gen
	p.mu.Unlock()
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].connectedAt.Before(sessions[j].connectedAt) })

	rep := &SwitchReport{From: old.redacted(), To: t.redacted(), At: start}
	var rmu sync.Mutex
	record := func(s *session, o outcome, why string) {
		rmu.Lock()
		defer rmu.Unlock()
		cs := ClosedSession{ID: s.id, User: s.user, Database: s.db, Reason: why}
		switch o {
		case moved:
			rep.Moved++
		case closedUnmovable:
			rep.Closed = append(rep.Closed, cs)
		case failed:
			rep.Failed = append(rep.Failed, cs)
		}
	}
	revert := func(err error) (*SwitchReport, error) {
		p.mu.Lock()
		p.target = old
		p.gen++
		p.mu.Unlock()
		return nil, fmt.Errorf("switch: cannot log in to the new backend, nothing changed: %w", err)
	}
	// Probe: the first movable session, or the DSN's own login.
	rest := sessions
	probed := false
	for len(rest) > 0 && !probed {
		s := rest[0]
		rest = rest[1:]
		o, why, err := s.switchTo(ctx, t, gen, true)
		if err != nil {
			return revert(err)
		}
		record(s, o, why)
		probed = o == moved
	}
	if !probed {
		b, err := p.connect(ctx, t, gen, t.cfg.User, t.cfg.Database, nil)
		if err != nil {
			return revert(err)
		}
		b.terminate()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.SwitchParallel)
	for _, s := range rest {
		g.Go(func() error {
			o, why, _ := s.switchTo(gctx, t, gen, false)
			record(s, o, why)
			return nil
		})
	}
	_ = g.Wait()
	go p.dropSpares() // sessions that connected since, or were closed
	rep.Duration = time.Since(start)
	p.mu.Lock()
	p.lastSwitch = rep
	p.mu.Unlock()
	return rep, nil
}

// Prewarm opens, for every client session, a backend session on dsn with
// the client's user, database and startup parameters, so that a Switch to
// dsn soon after does not pay for logins inside the pause. It returns how
// many it opened; a login failure closes them all and is returned. Spares
// a Switch does not take are closed by it, by Resume, or after two minutes.
func (p *Proxy) Prewarm(ctx context.Context, dsn string) (int, error) {
	t, err := newTarget(dsn)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	sessions := make([]*session, 0, len(p.sessions))
	for _, s := range p.sessions {
		sessions = append(sessions, s)
	}
	p.mu.Unlock()
	opened := make([]*backend, len(sessions))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.SwitchParallel)
	for i, s := range sessions {
		g.Go(func() error {
			b, err := p.connect(gctx, t, 0, s.user, s.db, s.params)
			opened[i] = b
			return err
		})
	}
	if err := g.Wait(); err != nil {
		for _, b := range opened {
			if b != nil {
				b.terminate()
			}
		}
		return 0, fmt.Errorf("prewarm: cannot log in to %s: %w", t.redacted(), err)
	}
	var stale []*backend
	p.mu.Lock()
	for i, s := range sessions {
		if s.closed {
			stale = append(stale, opened[i])
			continue
		}
		if s.spare != nil {
			stale = append(stale, s.spare)
		}
		s.spare, s.spareFor = opened[i], t.dsn
	}
	if p.spareTimer != nil {
		p.spareTimer.Stop()
	}
	p.spareTimer = time.AfterFunc(spareTTL, p.dropSpares)
	p.mu.Unlock()
	for _, b := range stale {
		b.terminate()
	}
	return len(sessions) - len(stale), nil
}

// dropSpares closes every prewarmed backend session not taken.
func (p *Proxy) dropSpares() {
	var spares []*backend
	p.mu.Lock()
	for _, s := range p.sessions {
		if s.spare != nil {
			spares = append(spares, s.spare)
			s.spare = nil
		}
	}
	p.mu.Unlock()
	for _, b := range spares {
		b.terminate()
	}
}

// ClientInfo describes one client session.
type ClientInfo struct {
	ID              uint32 // the proxy's process id for the client (BackendKeyData)
	User, Database  string
	Addr            string // client address
	ApplicationName string
	State           string // idle, active, in transaction, failed transaction, held
	ConnectedAt     time.Time
	Backend         string // backend address
	BackendPID      uint32
	Prepared        int    // prepared statements carried at a switch
	Settings        int    // session SETs carried at a switch
	Unmovable       string // state that closes the session at a switch, if any
}

// Clients lists the client sessions, oldest first.
func (p *Proxy) Clients() []ClientInfo {
	p.mu.Lock()
	ss := make([]*session, 0, len(p.sessions))
	for _, s := range p.sessions {
		ss = append(ss, s)
	}
	infos := make([]ClientInfo, len(ss))
	for i, s := range ss {
		infos[i] = ClientInfo{ID: s.id, User: s.user, Database: s.db, Addr: s.addr, State: s.stateLocked(),
			ConnectedAt: s.connectedAt, Backend: s.be.addr, BackendPID: s.be.pid}
	}
	p.mu.Unlock()
	for i, s := range ss {
		s.mu.Lock()
		infos[i].ApplicationName = s.serverParams["application_name"]
		infos[i].Prepared = len(s.st.prepared) + len(s.st.parses)
		infos[i].Settings = len(s.st.settings)
		infos[i].Unmovable = s.st.unmovable()
		s.mu.Unlock()
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].ConnectedAt.Before(infos[j].ConnectedAt) })
	return infos
}

// State is the proxy's state as a whole.
type State struct {
	Backend    string // redacted DSN of the current backend
	Generation int    // increments at each switch
	Paused     bool
	PausedFor  time.Duration
	Clients    int
	InTx       int // sessions not at an idle boundary
	Held       int // sessions whose next transaction waits for Resume
	LastSwitch *SwitchReport
}

// State reports the proxy's state.
func (p *Proxy) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := State{Backend: p.target.redacted(), Generation: p.gen, Paused: p.paused, Clients: len(p.sessions), InTx: p.busy, LastSwitch: p.lastSwitch}
	if p.paused {
		st.PausedFor = time.Since(p.pausedAt)
	}
	for _, s := range p.sessions {
		if s.held {
			st.Held++
		}
	}
	return st
}

// newKey picks an unused proxy process id and a secret for a session.
func (p *Proxy) newKey() (uint32, [4]byte) {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		id := binary.BigEndian.Uint32(b[:4]) & 0x7fffffff
		if id == 0 {
			continue
		}
		if _, taken := p.sessions[id]; !taken {
			return id, [4]byte(b[4:])
		}
	}
}
