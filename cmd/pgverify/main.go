// Command pgverify proves that no data was lost when a PostgreSQL database
// moves through logical replication. See README.md.
package main

import "os"

func main() { os.Exit(Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
