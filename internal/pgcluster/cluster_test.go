package pgcluster

import (
	"context"
	"testing"
)

func TestStartAndReplicate13To16(t *testing.T) {
	if !Available(13) || !Available(16) {
		t.Fatal("postgres binaries missing: run make postgres")
	}
	ctx := context.Background()
	src, err := Start(ctx, Options{Major: 13, Name: "src"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Stop()
	dst, err := Start(ctx, Options{Major: 16, Name: "dst"})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Stop()
	for _, c := range []*Cluster{src, dst} {
		if err := c.CreateDB(ctx, "app"); err != nil {
			t.Fatal(err)
		}
		if err := c.Exec(ctx, "app", "CREATE TABLE t (id int PRIMARY KEY, v text)"); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Exec(ctx, "app", "INSERT INTO t SELECT g, 'v'||g FROM generate_series(1,100) g"); err != nil {
		t.Fatal(err)
	}
	if err := Subscribe(ctx, src, dst, "app", "pgverify_test"); err != nil {
		t.Fatal(err)
	}
	if err := src.Exec(ctx, "app", "INSERT INTO t VALUES (101, 'late')"); err != nil {
		t.Fatal(err)
	}
	if err := WaitCaughtUp(ctx, src, "app"); err != nil {
		t.Fatal(err)
	}
	conn, err := dst.Connect(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	var ver string
	if err := conn.QueryRow(ctx, "SELECT count(*), current_setting('server_version_num') FROM t").Scan(&n, &ver); err != nil {
		t.Fatal(err)
	}
	if n != 101 || ver[:2] != "16" {
		t.Fatalf("target has %d rows on version %s, want 101 rows on 16", n, ver)
	}
}
