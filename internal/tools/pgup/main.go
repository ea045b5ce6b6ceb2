// Command pgup starts throwaway clusters of the given majors for development
// and prints their DSNs; Ctrl-C stops them.
//
//	go run ./internal/tools/pgup 13 16
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"

	"github.com/pgverify/pgverify/internal/pgcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var cs []*pgcluster.Cluster
	defer func() {
		for _, c := range cs {
			_ = c.Stop()
		}
	}()
	for _, a := range os.Args[1:] {
		m, err := strconv.Atoi(a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "usage: pgup MAJOR...")
			return
		}
		c, err := pgcluster.Start(ctx, pgcluster.Options{Major: m, Name: "dev"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		cs = append(cs, c)
		fmt.Printf("PG%d %s\n", m, c.DSN("postgres"))
	}
	<-ctx.Done()
}
