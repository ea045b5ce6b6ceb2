// Package report renders every pgverify result: text tables for people
// (tablewriter), JSON for machines, SARIF for code scanning, and progress on
// a terminal. Domain packages return data; only this package and cmd print.
package report
