package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxMessage bounds one protocol message (the server's own limit is 1 GB).
const maxMessage = 1 << 30

// msgReader reads whole protocol messages (type byte, length, body) without
// decoding them, so forwarding costs a copy and no allocation.
type msgReader struct {
	r   *bufio.Reader
	buf []byte
}

func newMsgReader(r io.Reader) *msgReader {
	return &msgReader{r: bufio.NewReaderSize(r, 32<<10), buf: make([]byte, 0, 8<<10)}
}

// next returns the next message, header included; it is valid until the next
// call.
func (m *msgReader) next() (byte, []byte, error) {
	m.buf = m.buf[:5]
	if _, err := io.ReadFull(m.r, m.buf); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(m.buf[1:5]))
	if n < 4 || n > maxMessage {
		return 0, nil, fmt.Errorf("invalid message length %d", n)
	}
	total := n + 1
	if cap(m.buf) < total {
		nb := make([]byte, total)
		copy(nb, m.buf[:5])
		m.buf = nb
	}
	m.buf = m.buf[:total]
	if _, err := io.ReadFull(m.r, m.buf[5:]); err != nil {
		return 0, nil, err
	}
	return m.buf[0], m.buf, nil
}

// buffered reports whether more input is already read, so a writer can wait
// before flushing.
func (m *msgReader) buffered() bool { return m.r.Buffered() > 0 }

// readStartup reads an untyped startup-phase packet (length, body).
func readStartup(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n < 8 || n > 10000 {
		return nil, fmt.Errorf("invalid startup packet length %d", n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}

// cstring splits a NUL-terminated string off b.
func cstring(b []byte) (string, []byte, error) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:], nil
		}
	}
	return "", nil, errors.New("unterminated string in message")
}

// encoder is anything pgproto3 can encode.
type encoder interface {
	Encode(dst []byte) ([]byte, error)
}

// appendMsgs encodes messages after dst.
func appendMsgs(dst []byte, msgs ...encoder) []byte {
	for _, m := range msgs {
		var err error
		dst, err = m.Encode(dst)
		if err != nil {
			panic(fmt.Sprintf("encoding %T: %v", m, err)) // only our own well-formed messages
		}
	}
	return dst
}
