package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// lintFile is an input schema lint accepts without a server: exit 0.
func lintFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dump.sql")
	if err := os.WriteFile(p, []byte("CREATE TABLE t (id int PRIMARY KEY);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// -o must never replace what is not a regular file, must keep a symlink a
// symlink, and must keep the mode of the file it replaces.
func TestOutputDestinations(t *testing.T) {
	in := lintFile(t)
	dir := t.TempDir()

	t.Run("symlink to a file", func(t *testing.T) {
		real := filepath.Join(dir, "real.txt")
		link := filepath.Join(dir, "link.txt")
		if err := os.WriteFile(real, []byte("old\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("real.txt", link); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := runCLI("schema", "lint", in, "-o", link); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the symlink was replaced: %v %v", st.Mode(), err)
		}
		b, _ := os.ReadFile(real)
		st, _ := os.Stat(real)
		if !strings.Contains(string(b), "no findings") || st.Mode().Perm() != 0o640 {
			t.Errorf("target %v %q", st.Mode(), b)
		}
	})

	t.Run("dangling symlink", func(t *testing.T) {
		link := filepath.Join(dir, "dangling.txt")
		if err := os.Symlink("nowhere/x.txt", link); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI("schema", "lint", in, "-o", link)
		if code != exitError {
			t.Errorf("exit %d", code)
		}
		assertOneLine(t, stderr, "cannot write --output "+link+": it is a symlink to nowhere/x.txt, which does not exist", false, "")
		if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the symlink was replaced: %v %v", st.Mode(), err)
		}
	})

	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(dir, "report.fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip("no FIFOs here:", err)
		}
		got := make(chan string, 1)
		go func() {
			f, err := os.Open(fifo) // blocks until the writer opens
			if err != nil {
				got <- err.Error()
				return
			}
			b, _ := io.ReadAll(f)
			f.Close()
			got <- string(b)
		}()
		if code, _, stderr := runCLI("schema", "lint", in, "-o", fifo); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if s := <-got; !strings.Contains(s, "no findings") {
			t.Errorf("reader got %q", s)
		}
		if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
			t.Errorf("the FIFO was replaced by a %v (%v)", st.Mode(), err)
		}
	})

	t.Run("character device", func(t *testing.T) {
		// A private copy of /dev/null (char 1:3): what -o /dev/null was
		// replaced with as root, without risking the machine's own.
		dev := filepath.Join(dir, "null")
		if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, int(1<<8|3)); err != nil {
			t.Skip("cannot create a device node here:", err)
		}
		if code, _, stderr := runCLI("schema", "lint", in, "-o", dev); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if st, err := os.Lstat(dev); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("the device was replaced by a %v (%v)", st.Mode(), err)
		}
	})

	t.Run("new file respects the umask", func(t *testing.T) {
		old := syscall.Umask(0o022)
		defer syscall.Umask(old)
		p := filepath.Join(dir, "new.txt")
		if code, _, stderr := runCLI("schema", "lint", in, "-o", p); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("new report %v %v, want 0644", st.Mode(), err)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".pgverify-report-*")); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})

	t.Run("directory", func(t *testing.T) {
		code, _, stderr := runCLI("schema", "lint", in, "-o", dir)
		if code != exitError {
			t.Errorf("exit %d", code)
		}
		assertOneLine(t, stderr, "it is a directory", false, "")
	})
}

// Every command checks -o before any work: with an unwritable -o and an
// unreachable server, the error is about -o.
func TestOutputCheckedFirst(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "missing-dir", "report.json")
	down := "postgres://u:s3cret@127.0.0.1:1/app?connect_timeout=2"
	for _, args := range [][]string{
		{"tables", "--source", down, "--target", down},
		{"sample", "--source", down, "--target", down},
		{"sequences", "--source", down, "--target", down},
		{"watermark", "-t", "a.b", "-c", "id", "--source", down, "--target", down},
		{"schema", "diff", "--source", down, "--target", down},
		{"schema", "lint", "--db", down},
		{"preflight", "--source", down},
	} {
		code, _, stderr := runCLI(append(args, "-o", bad)...)
		if code != exitError {
			t.Errorf("%v: exit %d", args, code)
		}
		assertOneLine(t, stderr, "cannot write --output "+bad, false, "s3cret")
	}
}

// A failed run leaves an earlier report in place, and says so.
func TestOutputFailedRunSaysStale(t *testing.T) {
	p := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(p, []byte("earlier\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	down := "postgres://u@127.0.0.1:1/app?connect_timeout=2"
	code, _, stderr := runCLI("tables", "--source", down, "--target", down, "-o", p)
	if code != exitError {
		t.Errorf("exit %d", code)
	}
	assertOneLine(t, stderr, "cannot connect to source", false, "")
	assertOneLine(t, stderr, "--output "+p+" was not updated and still holds an earlier report", false, "")
	if b, _ := os.ReadFile(p); string(b) != "earlier\n" {
		t.Errorf("earlier report changed: %q", b)
	}
}
