package lint

import "sort"

// Severity of a finding. Errors make the command exit 1; warnings do so only
// with --strict.
type Severity string

// Severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Rule codes. They are stable: never renumber, only add.
const (
	// CodeReachable: an unqualified reference in the body of a function that
	// something the apply worker, a restore or PG 17 maintenance executes
	// reaches, and the function does not pin search_path.
	CodeReachable = "PGV101"
	// CodeUnqualified: the same reference in a function nothing of that kind
	// reaches (it still breaks whoever calls it with an empty search_path).
	CodeUnqualified = "PGV102"
	// CodeMutablePath: a function without SET search_path that references
	// objects outside pg_catalog (all of them schema-qualified).
	CodeMutablePath = "PGV103"
	// CodeSecDef: SECURITY DEFINER without a pinned search_path.
	CodeSecDef = "PGV104"
	// CodePinnedMiss: the function pins search_path, but a name it uses
	// unqualified lives in a schema outside that path.
	CodePinnedMiss = "PGV105"
	// CodeDynamic: dynamic SQL (EXECUTE of a computed string) in a reachable
	// function without a pinned search_path; its names cannot be checked.
	CodeDynamic = "PGV106"
	// CodeCrossTable: a CHECK constraint, index or generated column calls a
	// function that reads another table; pg_dump and the table-sync workers
	// load tables in no order that respects it.
	CodeCrossTable = "PGV107"
	// CodeNotAnalyzed: a reachable function without a pinned search_path
	// whose body could not be analyzed (parse failure or another language).
	CodeNotAnalyzed = "PGV108"
)

// Rule describes one check for documentation, SARIF and --ignore.
type Rule struct {
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Remediation string   `json:"remediation"`
}

// Rules lists every rule, ordered by code.
var Rules = []Rule{
	{
		Code: CodeReachable, Name: "unqualified-reference-reachable", Severity: Error,
		Title: "Unqualified name in a function run by replication, restore or maintenance",
		Description: "The function's body names a function, table, view, sequence, type or operator outside pg_catalog " +
			"without a schema, the function does not pin search_path, and it is reached (directly or through other functions) " +
			"from a CHECK constraint, column default, generated column, index expression or predicate, domain constraint, " +
			"ENABLE REPLICA/ALWAYS trigger, materialized view or statistics expression. The logical replication apply and " +
			"table-sync workers and pg_dump scripts run with an empty search_path, and PG 17 maintenance (ANALYZE, CREATE INDEX, " +
			"REFRESH MATERIALIZED VIEW, VACUUM) with pg_catalog, pg_temp: the name does not resolve and the statement fails.",
		Remediation: "Pin the function's search_path (ALTER FUNCTION ... SET search_path = <schemas>, pg_temp) " +
			"or schema-qualify every name in its body, on the source and the target.",
	},
	{
		Code: CodeUnqualified, Name: "unqualified-reference", Severity: Warning,
		Title:       "Unqualified name in a function body",
		Description: "As PGV101, but nothing that replication, restore or maintenance executes reaches the function. It still fails for any caller whose search_path is empty.",
		Remediation: "Pin the function's search_path or schema-qualify the name.",
	},
	{
		Code: CodeMutablePath, Name: "function-search-path-mutable", Severity: Warning,
		Title:       "Function without SET search_path references objects outside pg_catalog",
		Description: "Every such reference is schema-qualified, but the function resolves its other names with the caller's search_path, so a caller's schema can shadow them.",
		Remediation: "ALTER FUNCTION ... SET search_path = <schemas>, pg_temp.",
	},
	{
		Code: CodeSecDef, Name: "security-definer-search-path", Severity: Error,
		Title:       "SECURITY DEFINER function without a pinned search_path",
		Description: "A SECURITY DEFINER function runs with its owner's rights but the caller's search_path: a caller can make it resolve names to objects the caller created.",
		Remediation: "ALTER FUNCTION ... SET search_path = <schemas>, pg_temp.",
	},
	{
		Code: CodePinnedMiss, Name: "pinned-search-path-misses", Severity: Error,
		Title:       "Name not on the function's pinned search_path",
		Description: "The function sets search_path, but a name its body uses without a schema is not in pg_catalog nor in any schema of that path.",
		Remediation: "Add the schema to the function's search_path or qualify the name.",
	},
	{
		Code: CodeDynamic, Name: "dynamic-sql", Severity: Warning,
		Title:       "Dynamic SQL in a reachable function without a pinned search_path",
		Description: "The function is reached from replication, restore or maintenance and EXECUTEs a computed string; the names in it cannot be checked and resolve with an empty search_path.",
		Remediation: "Pin the function's search_path, or qualify the names in the generated SQL (format('%I.%I', schema, name)).",
	},
	{
		Code: CodeCrossTable, Name: "cross-table-read", Severity: Warning,
		Title:       "CHECK, index or generated column reads another table",
		Description: "A function reached from a CHECK constraint, index or generated column reads a table. pg_dump restores data and logical replication's table-sync workers copy tables in no order that respects this, so the check can fail on a restore or an initial sync although the data is consistent.",
		Remediation: "Enforce the rule with a foreign key or a trigger instead of a CHECK constraint or index expression.",
	},
	{
		Code: CodeNotAnalyzed, Name: "body-not-analyzed", Severity: Warning,
		Title: "Reachable function body could not be analyzed",
		Description: "The function's body could not be (fully) checked: it is reached from replication, restore or maintenance, does not pin search_path and " +
			"is written in a language other than SQL or PL/pgSQL; or the parser rejects its body although PostgreSQL accepts it (reported whether or not anything reaches it: " +
			"pgverify then checks the SQL statements it can extract one by one, and names elsewhere in the body may be missed).",
		Remediation: "Pin the function's search_path.",
	},
}

// RuleByCode returns the rule for a code.
func RuleByCode(code string) (Rule, bool) {
	i := sort.Search(len(Rules), func(i int) bool { return Rules[i].Code >= code })
	if i < len(Rules) && Rules[i].Code == code {
		return Rules[i], true
	}
	return Rule{}, false
}
