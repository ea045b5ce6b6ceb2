package lint

import pgcatalog "github.com/pgverify/pgverify/internal/catalog"

// Querier is what catalog reads need: a *pgx.Conn or a pgx.Tx.
type Querier = pgcatalog.Querier
