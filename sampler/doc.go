// Package sampler is a quick statistical check of huge tables: it draws a
// random sample of rows on the source (TABLESAMPLE with a fixed seed, so a
// run can be repeated), looks up the same keys on the target, compares the
// full rows with the exact row hash `pgverify tables` uses
// (checksum.RowHashSQL), and states what the sample proves: with k of n
// sampled rows differing, the exact one-sided Clopper-Pearson upper bound on
// the fraction of the table's rows that differ.
//
// BERNOULLI sampling (the default) picks every row independently, which is
// what the binomial bound assumes. SYSTEM sampling picks whole blocks: it is
// cheaper, but rows in a block are correlated (a damaged range of rows is
// either all in or all out), so its bound is approximate and reported so.
//
// Differing rows are re-read after the subscriber has caught up when the
// target subscribes to the source, so replication lag is not reported. The
// sample covers source rows: rows that exist only on the target are not
// found by it (pgverify tables finds them).
package sampler
