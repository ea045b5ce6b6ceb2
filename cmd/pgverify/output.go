package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// reportOut is an opened report destination, checked before any database
// work so a bad --output fails at once.
//
// A regular file (new, or reached through a symlink, which stays a symlink)
// is written to a temporary file beside it and renamed into place once the
// report is complete, so a failed run never truncates an old report; it
// keeps the old file's mode (a new one gets 0666 less the umask). Anything
// else — a FIFO, /dev/stdout, /dev/null, a terminal — is written through
// and never replaced.
type reportOut struct {
	w        io.Writer
	tmp      *os.File
	buf      *bytes.Buffer // write-through destinations: the finished report
	path     string        // where the report goes (symlinks resolved for rename)
	shown    string        // --output as given, for messages
	existed  bool          // a regular file was there before this run
	finished bool
}

// start opens the destination before any database work.
func (f *outputFlags) start(stdout io.Writer) (*reportOut, error) {
	if f.output == "" || f.output == "-" {
		return &reportOut{w: stdout}, nil
	}
	p := f.output
	fail := func(format string, a ...any) (*reportOut, error) {
		return nil, fmt.Errorf("cannot write --output %s: %s", p, fmt.Sprintf(format, a...))
	}
	lst, lerr := os.Lstat(p)
	st, err := os.Stat(p) // follows symlinks, /dev/stdout's included
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && lerr == nil && lst.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(p)
		return fail("it is a symlink to %s, which does not exist", target)
	case errors.Is(err, fs.ErrNotExist):
		st = nil
	default:
		return fail("%v", unwrapPathErr(err))
	}
	if st != nil && st.IsDir() {
		return fail("it is a directory")
	}
	abs, _ := filepath.Abs(p)
	if st != nil && (!st.Mode().IsRegular() || strings.HasPrefix(abs, "/dev/") || strings.HasPrefix(abs, "/proc/")) {
		// A device, FIFO or socket (or a file open as one of our fds):
		// write through it, never replace it.
		if err := syscall.Access(p, 2 /* W_OK */); err != nil {
			return fail("%v", err)
		}
		buf := &bytes.Buffer{}
		return &reportOut{w: buf, buf: buf, path: p, shown: p}, nil
	}
	real := p
	perm := fs.FileMode(0o666) // less the umask, applied by open(2)
	if st != nil {
		if real, err = filepath.EvalSymlinks(p); err != nil {
			return fail("%v", unwrapPathErr(err))
		}
		if err := syscall.Access(real, 2 /* W_OK */); err != nil {
			return fail("%v", err)
		}
		perm = st.Mode().Perm()
	}
	tmp, err := createTemp(filepath.Dir(real), perm)
	if err != nil {
		return fail("%v", unwrapPathErr(err))
	}
	if st != nil {
		_ = tmp.Chmod(perm) // the umask must not narrow an existing file's mode
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			_ = tmp.Chown(int(sys.Uid), int(sys.Gid)) // root replacing someone's file keeps its owner
		}
	}
	return &reportOut{w: tmp, tmp: tmp, path: real, shown: p, existed: st != nil}, nil
}

// createTemp is os.CreateTemp with a mode: the file is created 0666 (or
// perm) less the umask, not CreateTemp's 0600.
func createTemp(dir string, perm fs.FileMode) (*os.File, error) {
	for i := 0; ; i++ {
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := filepath.Join(dir, ".pgverify-report-"+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err == nil || !errors.Is(err, fs.ErrExist) || i == 10 {
			return f, err
		}
	}
}

// abort discards a partly written report file.
func (r *reportOut) abort() {
	if r.tmp != nil && !r.finished {
		r.tmp.Close()
		os.Remove(r.tmp.Name())
		r.tmp = nil
	}
}

// close ends a run that may not have reached finish: it discards the
// partial report and, when an earlier report stays at --output, says so in
// the error, so nobody reads it as this run's. Use it deferred:
//
//	defer func() { err = out.close(err) }()
func (r *reportOut) close(err error) error {
	if r.finished {
		return err
	}
	r.abort()
	if err != nil && r.existed {
		return fmt.Errorf("%w; --output %s was not updated and still holds an earlier report", err, r.shown)
	}
	return err
}

// finish renders the report and puts it in place.
func (r *reportOut) finish(render func(io.Writer) error) error {
	if err := render(r.w); err != nil {
		r.abort()
		return fmt.Errorf("writing the report: %w", err)
	}
	switch {
	case r.buf != nil:
		f, err := os.OpenFile(r.path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("writing --output %s: %w", r.shown, unwrapPathErr(err))
		}
		_, err = f.Write(r.buf.Bytes())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing --output %s: %w", r.shown, unwrapPathErr(err))
		}
	case r.tmp != nil:
		name := r.tmp.Name()
		if err := r.tmp.Close(); err != nil {
			os.Remove(name)
			return fmt.Errorf("writing --output %s: %w", r.shown, err)
		}
		if err := os.Rename(name, r.path); err != nil {
			os.Remove(name)
			return fmt.Errorf("writing --output %s: %w", r.shown, err)
		}
		r.tmp = nil
	}
	r.finished = true
	return nil
}
