package failover

import (
	"encoding/binary"
	"reflect"
	"testing"
)

func TestTestDecodingMsg(t *testing.T) {
	got := map[string][]string{}
	touch := func(xid, table string) { got[xid] = append(got[xid], table) }
	lines := []struct {
		line   string
		commit bool
	}{
		{"BEGIN 10", false},
		{"table public.t: INSERT: id[integer]:1 note[text]:'a: UPDATE: b'", false},
		{`table "we: ird"."x: DELETE: y": UPDATE: id[integer]:2`, false},
		{"table public.u: TRUNCATE: (no-flags)", false},
		{"COMMIT 10", true},
	}
	for _, l := range lines {
		if c := testDecodingMsg(l.line, "10", touch); c != l.commit {
			t.Errorf("%q: commit %v, want %v", l.line, c, l.commit)
		}
	}
	// A quoted name holding an action marker is cut at the first one: the
	// table is still reported, its name shortened, never missed.
	want := []string{"public.t", `"we: ird"."x`, "public.u"}
	if !reflect.DeepEqual(got["10"], want) {
		t.Errorf("tables %q, want %q", got["10"], want)
	}
}

func TestPgoutputMsg(t *testing.T) {
	names := map[uint32]string{}
	var got []string
	touch := func(xid, table string) { got = append(got, table) }
	rel := []byte{'R', 0, 0, 0x40, 0x01}
	rel = append(rel, "my schema\x00T\x00"...)
	rel = append(rel, 'd', 0, 0)
	ins := []byte{'I', 0, 0, 0x40, 0x01, 'N', 0, 0}
	trunc := []byte{'T', 0, 0, 0, 2, 0, 0, 0, 0x40, 0x01, 0, 0, 0x40, 0x02}
	com := make([]byte, 26)
	com[0] = 'C'
	binary.BigEndian.PutUint64(com[2:], 42)
	for _, m := range [][]byte{{'B'}, rel, ins, trunc} {
		if pgoutputMsg(m, "7", names, touch) {
			t.Errorf("%q taken for a commit", m[0])
		}
	}
	if !pgoutputMsg(com, "7", names, touch) {
		t.Error("commit not seen")
	}
	want := []string{`"my schema"."T"`, `"my schema"."T"`, "oid 16386"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tables %q, want %q", got, want)
	}
}

func TestParseLSN(t *testing.T) {
	for s, want := range map[string]uint64{"0/0": 0, "0/4000F80": 0x4000F80, "1A/FF": 0x1A<<32 | 0xFF, "FFFFFFFF/FFFFFFFF": ^uint64(0)} {
		if got, err := parseLSN(s); err != nil || got != want {
			t.Errorf("parseLSN(%q) = %x, %v; want %x", s, got, err, want)
		}
	}
	for _, s := range []string{"", "12", "x/1", "1/", "100000000/0"} {
		if _, err := parseLSN(s); err == nil {
			t.Errorf("parseLSN(%q) accepted", s)
		}
	}
}
