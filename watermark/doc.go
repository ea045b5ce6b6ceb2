// Package watermark proves that an append-only table lost nothing on its
// way to the target, even while writes continue: it reads max(column) on the
// source and counts the rows at or below it, in one snapshot; waits (bounded)
// until the target holds that watermark; then counts the same rows there.
// Equal counts mean every row the source had up to the watermark reached the
// target. Rows above the watermark are ignored, so replication may go on.
//
// The count is only a proof for tables that are append-only by the column:
// updates or deletes on the source, or rows inserted later with a smaller
// value (a timestamp column filled by a long transaction, a backfill), make
// the counts prove less. The package warns when it can see either.
//
// Only report and cmd print; Run returns data.
package watermark
