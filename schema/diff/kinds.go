package diff

// mode says how an attribute's value is compared.
type mode int

const (
	modeExact       mode = iota // the catalog value, exactly
	modeExpr                    // an expression, as a parse tree
	modeQuery                   // a view query, as a parse tree
	modeConstraint              // pg_get_constraintdef, as a parse tree
	modeTrigger                 // pg_get_triggerdef, as a parse tree
	modeRule                    // pg_get_ruledef, as a parse tree
	modeFuncArgs                // pg_get_function_arguments, as parse trees
	modeBody                    // prosrc exactly, or a SQL-standard body as a parse tree
	modePartKey                 // pg_get_partkeydef, as a parse tree
	modePartBound               // partition bound, as a parse tree
	modeIndexPart               // filled from the index definition's parse tree
	modeACL                     // exploded ACL items, compared as a set
	modeColumnOrder             // relative order of the columns both sides have
	modePubTables               // publication tables with row filters and column lists
	modeHidden                  // read to derive other attributes, never compared
)

// attrSpec describes one compared attribute of an object kind.
type attrSpec struct {
	name string
	mode mode
	// privilege attributes are compared only with Options.Privileges.
	privilege bool
	// notice differences are reported with severity notice and do not fail
	// the comparison.
	notice bool
	// unlessChanged names an attribute whose change already explains this
	// one (typmod follows type), so it is not reported twice.
	unlessChanged string
}

// kindSpec describes an object type: its attributes in report order and
// the attribute shown as the value of a missing or extra object.
type kindSpec struct {
	summary string
	attrs   []attrSpec
	// privilege kinds are compared, and counted, only with
	// Options.Privileges.
	privilege bool
}

// typeOrder is the order object types appear in reports: containers
// before their contents.
var typeOrder = []string{
	"schema", "extension", "type", "domain constraint", "sequence", "table", "column",
	"constraint", "index", "view", "materialized view", "function", "trigger", "rule", "policy", "publication",
	"default privileges",
}

var (
	owner = attrSpec{name: "owner", privilege: true}
	acl   = attrSpec{name: "acl", mode: modeACL, privilege: true}
)

var kinds = map[string]kindSpec{
	"schema": {attrs: []attrSpec{owner, acl}},
	"extension": {summary: "version", attrs: []attrSpec{
		{name: "version", notice: true},
		{name: "schema"},
	}},
	"type": {summary: "kind", attrs: []attrSpec{
		{name: "kind"},
		{name: "labels"},
		{name: "base_type"},
		{name: "not_null"},
		{name: "default", mode: modeExpr},
		{name: "attributes"},
		{name: "subtype"},
		{name: "subtype_opclass"},
		{name: "canonical"},
		{name: "subtype_diff"},
		{name: "collation"},
		{name: "input"},
		{name: "output"},
		owner, acl,
	}},
	"domain constraint": {summary: "definition", attrs: []attrSpec{
		{name: "definition", mode: modeConstraint},
		{name: "validated"},
	}},
	"sequence": {summary: "type", attrs: []attrSpec{
		{name: "type"},
		{name: "start"},
		{name: "increment"},
		{name: "min"},
		{name: "max"},
		{name: "cache"},
		{name: "cycle"},
		{name: "owned_by"},
		owner, acl,
	}},
	"table": {summary: "kind", attrs: []attrSpec{
		{name: "kind"},
		{name: "persistence"},
		{name: "partition_key", mode: modePartKey},
		{name: "partition_of"},
		{name: "partition_bound", mode: modePartBound},
		{name: "inherits"},
		{name: "replica_identity"},
		{name: "row_security"},
		{name: "access_method"},
		{name: "options"},
		{name: "columns", mode: modeColumnOrder},
		owner, acl,
	}},
	"column": {summary: "typmod", attrs: []attrSpec{
		{name: "type"},
		{name: "typmod", unlessChanged: "type"},
		{name: "not_null"},
		{name: "default", mode: modeExpr},
		{name: "generated", mode: modeExpr},
		{name: "generated_kind"},
		{name: "identity"},
		{name: "collation"},
		acl,
	}},
	"constraint": {summary: "definition", attrs: []attrSpec{
		{name: "type"},
		{name: "definition", mode: modeConstraint},
		{name: "deferrable"},
		{name: "validated"},
	}},
	"index": {summary: "definition", attrs: []attrSpec{
		{name: "table"},
		{name: "definition", mode: modeHidden},
		{name: "method"},
		{name: "unique"},
		{name: "nulls_not_distinct"},
		{name: "columns", mode: modeIndexPart},
		{name: "include", mode: modeIndexPart},
		{name: "predicate", mode: modeIndexPart},
		{name: "options"},
		{name: "valid"},
		{name: "partition_of"},
	}},
	"view": {summary: "definition", attrs: []attrSpec{
		{name: "definition", mode: modeQuery},
		{name: "options"},
		owner, acl,
	}},
	"materialized view": {summary: "definition", attrs: []attrSpec{
		{name: "definition", mode: modeQuery},
		{name: "options"},
		owner, acl,
	}},
	"function": {summary: "result", attrs: []attrSpec{
		{name: "kind"},
		{name: "arguments", mode: modeFuncArgs},
		{name: "result"},
		{name: "language"},
		{name: "body_sql_standard", mode: modeHidden},
		{name: "body", mode: modeBody},
		{name: "library"},
		{name: "aggregate"},
		{name: "volatility"},
		{name: "strict"},
		{name: "security"},
		{name: "leakproof"},
		{name: "parallel"},
		{name: "cost"},
		{name: "rows"},
		{name: "config"},
		owner, acl,
	}},
	"trigger": {summary: "definition", attrs: []attrSpec{
		{name: "definition", mode: modeTrigger},
		{name: "enabled"},
	}},
	"rule": {summary: "definition", attrs: []attrSpec{
		{name: "definition", mode: modeRule},
		{name: "enabled"},
	}},
	"policy": {summary: "command", attrs: []attrSpec{
		{name: "command"},
		{name: "permissive"},
		{name: "roles"},
		{name: "using", mode: modeExpr},
		{name: "with_check", mode: modeExpr},
	}},
	"publication": {summary: "publish", attrs: []attrSpec{
		{name: "all_tables"},
		{name: "publish"},
		{name: "via_root"},
		{name: "tables", mode: modePubTables},
		{name: "schemas"},
		owner,
	}},
	"default privileges": {privilege: true, attrs: []attrSpec{acl}},
}

// NotCompared lists what schema diff does not compare, for reports (so a
// clean result says what it does not cover).
var NotCompared = []string{
	"whether materialized views are populated", "sequence values", "comments", "tablespaces",
	"column storage and statistics targets", "foreign tables and servers", "event triggers",
	"operators", "casts", "collations", "text search objects", "statistics objects", "roles",
}
