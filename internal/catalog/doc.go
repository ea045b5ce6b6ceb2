// Package catalog holds the catalog reads several commands share (user
// tables with their columns and primary keys) and --table/--exclude
// selection. Catalog SQL lives in sql/*.sql, one query per purpose.
package catalog
