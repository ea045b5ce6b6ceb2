package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgverify/pgverify/internal/dbconn"
)

const (
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	cancelRequestCode = 80877102
)

type outcome int

const (
	moved outcome = iota + 1
	closedUnmovable
	failed
)

type parseEntry struct {
	name     string
	msg      []byte
	injected bool  // replayed by the proxy: its ParseComplete is not the client's
	batch    int64 // syncs sent before it: answered by the next ReadyForQuery after that many
}

// session is one client connection and its backend session.
type session struct {
	p           *Proxy
	id          uint32
	secret      [4]byte
	client      net.Conn
	crd         *msgReader
	wmu         sync.Mutex // client writes
	cwr         *bufio.Writer
	user, db    string
	params      map[string]string // startup parameters
	addr        string
	connectedAt time.Time
	done        chan struct{}
	closeOnce   sync.Once

	// guarded by p.mu
	be          *backend
	spare       *backend // opened on spareFor by Prewarm, taken by the next switch there
	spareFor    string
	pending     int  // Query/Sync/FunctionCall forwarded, ReadyForQuery not yet seen
	partial     bool // extended-protocol messages forwarded since the last Sync
	tx          byte // last ReadyForQuery status
	busyCounted bool
	held        bool
	closed      bool

	sentSyncs int64 // Query/Sync/FunctionCall sent; client reader only
	doneSyncs int64 // ReadyForQuery seen; backend reader only, under mu

	// guarded by mu
	mu           sync.Mutex
	st           *sessionState
	parseQ       []parseEntry // Parse messages awaiting ParseComplete
	txErr        bool         // an error or rollback ended the current transaction
	serverParams map[string]string
	cache        map[string]effects
	// lazy are named statements not yet re-parsed on the current backend
	// since a switch: each is parsed just before the first message using it.
	lazy  map[string][]byte
	lazyN atomic.Int32

	// backend hand-over: the switcher parks the backend reader, then
	// resumes it with the new backend (nil: the session is over).
	swapping atomic.Bool
	parked   chan struct{}
	resume   chan *backend
}

// idleLocked: no work forwarded and unanswered, outside a transaction.
func (s *session) idleLocked() bool { return s.pending == 0 && !s.partial && s.tx == 'I' }

// updateBusyLocked keeps p.busy in step with the session's state.
func (s *session) updateBusyLocked() {
	p := s.p
	busy := !s.closed && !s.idleLocked()
	switch {
	case busy && !s.busyCounted:
		s.busyCounted = true
		p.busy++
	case !busy && s.busyCounted:
		s.busyCounted = false
		p.busy--
		if p.busy == 0 && p.drained != nil {
			close(p.drained)
			p.drained = nil
		}
	}
}

func (s *session) stateLocked() string {
	switch {
	case s.held:
		return "held"
	case s.tx == 'T':
		return "in transaction"
	case s.tx == 'E':
		return "failed transaction"
	case s.pending > 0 || s.partial:
		return "active"
	}
	return "idle"
}

// send writes backend messages to the client and flushes.
func (s *session) send(msgs ...encoder) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.cwr.Write(appendMsgs(nil, msgs...)); err != nil {
		return err
	}
	return s.cwr.Flush()
}

func (s *session) recv() (byte, []byte, error) { return s.crd.next() }

func fatal(code, msg, hint string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg, Hint: hint}
}

// fatalFrom turns a backend connection error into what the client sees.
func fatalFrom(err error) *pgproto3.ErrorResponse {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: pe.Code, Message: pe.Message, Detail: pe.Detail, Hint: pe.Hint}
	}
	return fatal("08006", "pgverify proxy: cannot connect to the backend: "+dbconn.Redact(err.Error()), "")
}

// handle runs one client connection from the first packet to the end.
func (p *Proxy) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // the startup phase
	s := &session{p: p, client: c, addr: c.RemoteAddr().String(), connectedAt: time.Now(), done: make(chan struct{}),
		st: newSessionState(), parked: make(chan struct{}), resume: make(chan *backend), tx: 'I'}
	conn, startup, err := p.negotiate(ctx, c, true)
	if err != nil || startup == nil {
		return
	}
	s.client, s.crd, s.cwr = conn, newMsgReader(conn), bufio.NewWriterSize(conn, 32<<10)
	if err := p.startup(ctx, s, startup); err != nil {
		if s.be != nil {
			p.release(s)
		}
		return
	}
	_ = c.SetDeadline(time.Time{})
	defer p.release(s)
	go s.backendLoop(s.be)
	s.clientLoop(ctx)
}

// negotiate answers SSLRequest and GSSENCRequest, forwards a cancel
// request (when cancels, returning a nil startup), and reads the startup
// message, over TLS when negotiated.
func (p *Proxy) negotiate(ctx context.Context, c net.Conn, cancels bool) (net.Conn, *pgproto3.StartupMessage, error) {
	conn := c
	for {
		body, err := readStartup(conn)
		if err != nil {
			return nil, nil, err
		}
		switch binary.BigEndian.Uint32(body) {
		case sslRequestCode:
			if p.cfg.TLS == nil {
				if _, err := conn.Write([]byte{'N'}); err != nil {
					return nil, nil, err
				}
				continue
			}
			if conn != c {
				return nil, nil, errors.New("SSLRequest over TLS")
			}
			if _, err := conn.Write([]byte{'S'}); err != nil {
				return nil, nil, err
			}
			tc := tls.Server(c, p.cfg.TLS)
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, nil, err
			}
			conn = tc
		case gssEncRequestCode:
			if _, err := conn.Write([]byte{'N'}); err != nil {
				return nil, nil, err
			}
		case cancelRequestCode:
			var cr pgproto3.CancelRequest
			if cancels && cr.Decode(body) == nil {
				p.cancel(cr)
			}
			return conn, nil, nil
		default:
			var sm pgproto3.StartupMessage
			if err := sm.Decode(body); err != nil {
				w := bufio.NewWriter(conn)
				w.Write(appendMsgs(nil, fatal("08P01", "invalid startup packet: "+err.Error(), "")))
				_ = w.Flush()
				return nil, nil, err
			}
			return conn, &sm, nil
		}
	}
}

// authClient runs the startup checks and password exchange shared by client
// and admin connections, then sends AuthenticationOk.
func (p *Proxy) authClient(s *session) error {
	if p.cfg.Users == nil {
		if !IsLoopback(s.addr) {
			_ = s.send(fatal("28000", "pgverify proxy: trust authentication is allowed from loopback only", ""))
			return errors.New("trust from remote")
		}
	} else {
		sec, ok := p.cfg.Users[s.user]
		var err error
		if !ok {
			err = &errAuth{s.user}
		} else {
			err = authenticate(s, s.user, sec)
		}
		if err != nil {
			var ea *errAuth
			if errors.As(err, &ea) {
				_ = s.send(fatal("28P01", ea.Error(), ""))
			} else {
				_ = s.send(fatal("08P01", "authentication: "+err.Error(), ""))
			}
			return err
		}
	}
	return s.send(&pgproto3.AuthenticationOk{})
}

// startParams reads user, database and the startup parameters, and answers
// a newer protocol version with NegotiateProtocolVersion.
func (s *session) startParams(sm *pgproto3.StartupMessage) error {
	params := map[string]string{}
	var unrecognized []string
	for k, v := range sm.Parameters {
		if len(k) > 5 && k[:5] == "_pq_." {
			unrecognized = append(unrecognized, k)
			continue
		}
		params[k] = v
	}
	s.user, s.db = params["user"], params["database"]
	if s.user == "" {
		_ = s.send(fatal("28000", "no PostgreSQL user name specified in startup packet", ""))
		return errors.New("no user")
	}
	if s.db == "" {
		s.db = s.user
	}
	s.params = params
	if sm.ProtocolVersion != pgproto3.ProtocolVersion30 || len(unrecognized) > 0 {
		return s.send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unrecognized})
	}
	return nil
}

// startup authenticates the client, opens its backend session and
// registers it.
func (p *Proxy) startup(ctx context.Context, s *session, sm *pgproto3.StartupMessage) error {
	if err := s.startParams(sm); err != nil {
		return err
	}
	if r, ok := s.params["replication"]; ok && r != "false" && r != "0" && r != "off" {
		_ = s.send(fatal("0A000", "pgverify proxy does not forward replication connections", ""))
		return errors.New("replication")
	}
	select {
	case p.slots <- struct{}{}:
	default:
		_ = s.send(fatal("53300", "sorry, too many clients already (pgverify proxy --max-clients)", ""))
		return errors.New("too many clients")
	}
	registered := false
	defer func() {
		if !registered {
			<-p.slots
		}
	}()
	if err := p.authClient(s); err != nil {
		return err
	}
	_ = s.client.SetDeadline(time.Time{}) // a pause may hold the login
	// A new session waits out a pause, then logs in to whichever backend is
	// current; a switch in between sends it around again.
	for {
		p.mu.Lock()
		for p.paused {
			ch := p.resumed
			p.mu.Unlock()
			<-ch
			p.mu.Lock()
		}
		t, gen := p.target, p.gen
		p.mu.Unlock()
		b, err := p.connect(ctx, t, gen, s.user, s.db, s.params)
		if err != nil {
			_ = s.send(fatalFrom(err))
			return err
		}
		p.mu.Lock()
		if gen != p.gen || p.paused {
			p.mu.Unlock()
			b.terminate()
			continue
		}
		s.id, s.secret = p.newKey()
		s.be = b
		p.sessions[s.id] = s
		registered = true
		p.mu.Unlock()
		break
	}
	s.serverParams = make(map[string]string, len(s.be.params))
	var out []byte
	for k, v := range s.be.params {
		s.serverParams[k] = v
		out = appendMsgs(out, &pgproto3.ParameterStatus{Name: k, Value: v})
	}
	out = appendMsgs(out, &pgproto3.BackendKeyData{ProcessID: s.id, SecretKey: s.secret[:]}, &pgproto3.ReadyForQuery{TxStatus: 'I'})
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.cwr.Write(out); err != nil {
		return err
	}
	return s.cwr.Flush()
}

// release unregisters a finished session.
func (p *Proxy) release(s *session) {
	s.close()
	<-p.slots
}

// close ends both connections; the loops then return.
func (s *session) close() {
	s.closeOnce.Do(func() {
		p := s.p
		p.mu.Lock()
		s.closed = true
		s.updateBusyLocked()
		if p.sessions[s.id] == s {
			delete(p.sessions, s.id)
		}
		be, spare := s.be, s.spare
		s.spare = nil
		p.mu.Unlock()
		close(s.done)
		_ = s.client.Close()
		if be != nil {
			be.terminate()
		}
		if spare != nil {
			spare.terminate()
		}
	})
}

// cancel forwards a client's cancel request to its current backend.
func (p *Proxy) cancel(cr pgproto3.CancelRequest) {
	p.mu.Lock()
	s := p.sessions[cr.ProcessID]
	var be *backend
	if s != nil && subtle.ConstantTimeCompare(s.secret[:], cr.SecretKey) == 1 {
		be = s.be
	}
	p.mu.Unlock()
	if be != nil {
		_ = be.cancel()
	}
}

// clientLoop forwards client messages to the backend. A message that starts
// new work at an idle boundary waits while the proxy is paused.
func (s *session) clientLoop(ctx context.Context) {
	p := s.p
	defer s.close()
	var be *backend
	p.mu.Lock()
	be = s.be
	p.mu.Unlock()
	for {
		typ, msg, err := s.crd.next()
		if err != nil {
			return
		}
		switch typ {
		case 'd': // CopyData: inside a COPY, nothing to track
			if _, err := be.wr.Write(msg); err != nil {
				return
			}
			if !s.crd.buffered() {
				if be.wr.Flush() != nil {
					return
				}
			}
			continue
		case 'X':
			return
		}
		p.mu.Lock()
		if s.idleLocked() {
			for p.paused && !s.closed {
				ch := p.resumed
				s.held = true
				p.mu.Unlock()
				select {
				case <-ch:
				case <-s.done:
				}
				p.mu.Lock()
				s.held = false
			}
			if s.closed {
				p.mu.Unlock()
				return
			}
			if s.be.gen != p.gen {
				// Connected or resumed while a switch ran: catch up now.
				t, gen := p.target, p.gen
				p.mu.Unlock()
				if o, _, _ := s.switchTo(ctx, t, gen, false); o != moved {
					return
				}
				p.mu.Lock()
			}
			be = s.be
		}
		switch typ {
		case 'Q', 'S', 'F':
			s.pending++
			s.partial = false
		case 'c', 'f': // CopyDone, CopyFail
		default:
			s.partial = true
		}
		s.updateBusyLocked()
		p.mu.Unlock()

		switch typ {
		case 'Q':
			if q, _, err := cstring(msg[5:]); err == nil {
				s.track(q)
			}
		case 'P':
			name, rest, err := cstring(msg[5:])
			if err != nil {
				return
			}
			q, _, _ := cstring(rest)
			var keep []byte
			if name != "" {
				keep = bytes.Clone(msg)
			}
			s.mu.Lock()
			s.parseQ = append(s.parseQ, parseEntry{name: name, msg: keep, batch: s.sentSyncs})
			s.mu.Unlock()
			s.track(q)
		case 'C':
			if len(msg) > 6 && msg[5] == 'S' {
				if name, _, err := cstring(msg[6:]); err == nil {
					s.mu.Lock()
					delete(s.st.parses, name)
					s.dropLazyLocked(name)
					s.mu.Unlock()
				}
			}
		}
		if s.lazyN.Load() > 0 {
			if err := s.replayLazy(be, typ, msg); err != nil {
				return
			}
		}
		if typ == 'Q' || typ == 'S' || typ == 'F' {
			s.sentSyncs++
		}
		if _, err := be.wr.Write(msg); err != nil {
			return
		}
		if !s.crd.buffered() {
			if be.wr.Flush() != nil {
				return
			}
		}
	}
}

func (s *session) dropLazyLocked(name string) {
	if _, ok := s.lazy[name]; ok {
		delete(s.lazy, name)
		s.lazyN.Add(-1)
	}
}

// replayLazy sends the Parse of a statement carried over a switch before
// the first Bind or Describe that names it; a new Parse of the name replaces
// it.
func (s *session) replayLazy(be *backend, typ byte, msg []byte) error {
	var name string
	var err error
	switch {
	case typ == 'B':
		var rest []byte
		if _, rest, err = cstring(msg[5:]); err == nil {
			name, _, err = cstring(rest)
		}
	case typ == 'D' && len(msg) > 6 && msg[5] == 'S':
		name, _, err = cstring(msg[6:])
	case typ == 'P':
		name, _, err = cstring(msg[5:])
		s.mu.Lock()
		s.dropLazyLocked(name)
		s.mu.Unlock()
		return nil
	default:
		return nil
	}
	if err != nil || name == "" {
		return nil
	}
	s.mu.Lock()
	parse, ok := s.lazy[name]
	if ok {
		s.dropLazyLocked(name)
		s.parseQ = append(s.parseQ, parseEntry{name: name, msg: parse, injected: true, batch: s.sentSyncs})
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	_, err = be.wr.Write(parse)
	return err
}

// track records a statement's session effects as pending until its
// transaction ends.
func (s *session) track(q string) {
	if !mayMatter(q) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[q]
	if !ok {
		s.mu.Unlock()
		e = analyze(q)
		s.mu.Lock()
		if s.cache == nil || len(s.cache) > 256 {
			s.cache = map[string]effects{}
		}
		s.cache[q] = e
	}
	if !e.none {
		s.st.pending = append(s.st.pending, e)
	}
}

// backendLoop forwards backend messages to the client and tracks
// ReadyForQuery. At a switch it parks until handed the new backend.
func (s *session) backendLoop(be *backend) {
	p := s.p
	for {
		typ, msg, err := be.rd.next()
		if err != nil {
			if s.swapping.Load() {
				select {
				case s.parked <- struct{}{}:
				case <-s.done:
					return
				}
				select {
				case be = <-s.resume:
				case <-s.done:
					return
				}
				if be == nil {
					return
				}
				continue
			}
			if !errors.Is(err, io.EOF) {
				select {
				case <-s.done:
				default:
					_ = s.send(fatal("08006", "pgverify proxy: lost the backend connection: "+err.Error(), ""))
				}
			}
			s.close()
			return
		}
		switch typ {
		case 'Z':
			tx := msg[5]
			s.mu.Lock()
			// Parses of this batch not answered were skipped after an error.
			s.doneSyncs++
			i := 0
			for i < len(s.parseQ) && s.parseQ[i].batch < s.doneSyncs {
				i++
			}
			s.parseQ = s.parseQ[i:]
			if tx == 'I' {
				if !s.txErr {
					for _, e := range s.st.pending {
						s.st.apply(e)
					}
				}
				s.st.pending, s.txErr = s.st.pending[:0], false
			}
			s.mu.Unlock()
			p.mu.Lock()
			if s.pending > 0 {
				s.pending--
			}
			s.tx = tx
			s.updateBusyLocked()
			p.mu.Unlock()
		case '1': // ParseComplete
			injected := false
			s.mu.Lock()
			if len(s.parseQ) > 0 {
				e := s.parseQ[0]
				if e.name != "" {
					s.st.parses[e.name] = e.msg
				}
				injected = e.injected
				s.parseQ = s.parseQ[1:]
			}
			s.mu.Unlock()
			if injected {
				continue // the client did not send this Parse
			}
		case 'E':
			s.mu.Lock()
			s.txErr = true
			s.mu.Unlock()
		case 'C':
			if bytes.HasPrefix(msg[5:], []byte("ROLLBACK\x00")) {
				s.mu.Lock()
				s.txErr = true
				s.mu.Unlock()
			}
		case 'S':
			var ps pgproto3.ParameterStatus
			if ps.Decode(msg[5:]) == nil {
				s.mu.Lock()
				s.serverParams[ps.Name] = ps.Value
				s.mu.Unlock()
			}
		}
		s.wmu.Lock()
		_, err = s.cwr.Write(msg)
		if err == nil && !be.rd.buffered() {
			err = s.cwr.Flush()
		}
		s.wmu.Unlock()
		if err != nil {
			s.close()
			return
		}
	}
}

// switchTo moves an idle session to target t: it parks the backend reader,
// closes the session if its state cannot move, else opens the new backend
// session, replays settings and prepared statements, tells the client the
// parameters that changed, and hands the new backend to the reader. With
// probe, a login failure leaves the session on its old backend and is
// returned as the error.
func (s *session) switchTo(ctx context.Context, t *target, gen int, probe bool) (outcome, string, error) {
	p := s.p
	p.mu.Lock()
	old := s.be
	p.mu.Unlock()

	s.swapping.Store(true)
	_ = old.conn.SetReadDeadline(time.Unix(1, 0))
	select {
	case <-s.parked:
	case <-s.done:
		return failed, "session ended", nil
	case <-ctx.Done():
		// The reader is stuck writing to a client that does not read.
		s.close()
		return failed, "the client did not read its messages before the switch deadline", nil
	}
	unpark := func(b *backend) {
		s.swapping.Store(false)
		select {
		case s.resume <- b:
		case <-s.done:
		}
	}
	finish := func(o outcome, e *pgproto3.ErrorResponse, why string) (outcome, string, error) {
		_ = s.send(e)
		unpark(nil)
		s.close()
		return o, why, nil
	}

	s.mu.Lock()
	why := s.st.unmovable()
	sql := s.st.replaySQL()
	lazy := make(map[string][]byte, len(s.st.parses))
	for n, m := range s.st.parses {
		lazy[n] = m
	}
	s.mu.Unlock()
	if why != "" {
		return finish(closedUnmovable, fatal("57P01",
			"pgverify proxy: closing this session at the backend switch: it holds state that cannot move ("+why+")",
			"Reconnect: the new session opens on the new backend."), why)
	}
	nb := s.takeSpare(t)
	var err error
	if nb != nil {
		nb.gen = gen
	} else {
		nb, err = p.connect(ctx, t, gen, s.user, s.db, s.params)
	}
	if err != nil {
		if probe {
			_ = old.conn.SetReadDeadline(time.Time{})
			unpark(old)
			return 0, "", err
		}
		why := "cannot log in to the new backend: " + dbconn.Redact(err.Error())
		return finish(failed, fatal("57P01", "pgverify proxy: closing this session at the backend switch: "+why, "Reconnect."), why)
	}
	if err := nb.replay(ctx, sql, nil); err != nil {
		nb.terminate()
		why := "cannot restore the session's settings or prepared statements: " + err.Error()
		return finish(failed, fatal("57P01", "pgverify proxy: closing this session at the backend switch: "+why, "Reconnect."), why)
	}
	// Parameters the client must learn about (server_version, ...).
	var diff []encoder
	s.mu.Lock()
	for k, v := range nb.params {
		if s.serverParams[k] != v {
			s.serverParams[k] = v
			diff = append(diff, &pgproto3.ParameterStatus{Name: k, Value: v})
		}
	}
	s.mu.Unlock()
	if len(diff) > 0 {
		if err := s.send(diff...); err != nil {
			nb.terminate()
			unpark(nil)
			s.close()
			return failed, "client gone", nil
		}
	}
	s.mu.Lock()
	s.lazy = lazy
	s.lazyN.Store(int32(len(lazy)))
	s.mu.Unlock()
	p.mu.Lock()
	s.be = nb
	p.mu.Unlock()
	old.terminate()
	unpark(nb)
	return moved, "", nil
}

// takeSpare returns the session's prewarmed backend session on t if it is
// still clean: the server has sent nothing since the login (a backend that
// was terminated or timed out has said so, or closed).
func (s *session) takeSpare(t *target) *backend {
	p := s.p
	p.mu.Lock()
	b, ok := s.spare, s.spareFor == t.dsn
	s.spare = nil
	p.mu.Unlock()
	if b == nil {
		return nil
	}
	if !ok {
		b.terminate()
		return nil
	}
	_ = b.conn.SetReadDeadline(time.Now())
	_, err := b.rd.r.Peek(1)
	_ = b.conn.SetReadDeadline(time.Time{})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		b.terminate() // data, EOF or an error: not a clean idle session
		return nil
	}
	return b
}
