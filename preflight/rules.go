package preflight

// Codes outside the rule list.
const (
	codeNotChecked = "PF099" // a rule lacked privileges
	codeSkipped    = "PF098" // target rules skipped without --target
)

// rules in code order. Codes are stable: never renumber, only append.
//
// Where each rule lives: settings.go PF001-PF003; tables.go PF004-PF006,
// PF011, PF019; unreplicated.go PF007-PF010, PF020; extensions.go PF012;
// sessions.go PF013-PF015; collations.go PF016; functions.go PF017, PF018,
// PF025; subscription.go PF021-PF024. Helpers used by several: helpers.go.
var rules = []rule{
	{code: "PF001", title: "wal_level is not logical", run: ruleWalLevel},
	{code: "PF002", title: "source replication capacity", run: ruleSourceCapacity},
	{code: "PF003", title: "target replication capacity", needsTarget: true, run: ruleTargetCapacity},
	{code: "PF004", title: "tables without a usable replica identity", run: ruleReplicaIdentity},
	{code: "PF005", title: "REPLICA IDENTITY FULL on columns without equality", run: ruleFullWithoutEquality},
	{code: "PF006", title: "tables without a primary key", run: ruleNoPrimaryKey},
	{code: "PF007", title: "unlogged tables are not replicated", run: ruleUnlogged},
	{code: "PF008", title: "large objects are not replicated", run: ruleLargeObjects},
	{code: "PF009", title: "materialized views are not replicated", run: ruleMatviews},
	{code: "PF010", title: "foreign tables are not replicated", run: ruleForeignTables},
	{code: "PF011", title: "partitioned tables", run: rulePartitioned},
	{code: "PF012", title: "extensions on the target", needsTarget: true, run: ruleExtensions},
	{code: "PF013", title: "existing replication slots", run: ruleExistingSlots},
	{code: "PF014", title: "long-running transactions", run: ruleLongTransactions},
	{code: "PF015", title: "prepared transactions", run: rulePrepared},
	{code: "PF016", title: "collation version drift", run: ruleCollations},
	{code: "PF017", title: "unqualified names reached by the apply worker", run: ruleUnqualified},
	{code: "PF018", title: "triggers that fire on the subscriber", run: ruleTriggers},
	{code: "PF019", title: "generated columns are recomputed on the subscriber", run: ruleGenerated},
	{code: "PF020", title: "sequences are not replicated", run: ruleSequences},
	{code: "PF021", title: "subscription disabled or failing", needsTarget: true, run: ruleSubscriptionState},
	{code: "PF022", title: "subscription tables not ready", needsTarget: true, run: ruleSubscriptionTables},
	{code: "PF023", title: "subscription slot lag and WAL retention", needsTarget: true, run: ruleSlotLag},
	{code: "PF024", title: "subscription slot invalidated", needsTarget: true, run: ruleSlotInvalidated},
	{code: "PF025", title: "constraints or indexes that read other tables", run: ruleCrossTable},
}
