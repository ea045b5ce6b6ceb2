// Package report renders every pgverify result: text tables for people
// (tablewriter), JSON for machines, SARIF for code scanning, JUnit XML and
// Markdown for CI (ci.go maps each command's result to test cases;
// junit.go and markdown.go render them), and progress on a terminal.
// Domain packages return data; only this package and cmd print.
package report
