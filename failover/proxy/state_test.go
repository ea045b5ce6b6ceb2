package proxy

import (
	"strings"
	"testing"
)

func TestSessionStateTracking(t *testing.T) {
	st := newSessionState()
	for _, q := range []string{
		"SET search_path = app, public",
		"set Application_Name to 'x'; SELECT 1",
		"SET LOCAL work_mem = '1MB'",
		"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
		"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"SET statement_timeout = 5000",
		"RESET statement_timeout",
		"PREPARE a(int) AS SELECT $1",
		"PREPARE b AS SELECT 2",
		"DEALLOCATE b",
		"UPDATE t SET v = 1",
		"SELECT set_config('app.tenant', 'it''s 42', false)",
		"SELECT set_config('app.local', 'x', true)",
		"SELECT set_config('app.param', $1, false)",
	} {
		st.apply(analyze(q))
	}
	got := st.replaySQL()
	want := "SET search_path = app, public;\nset Application_Name to 'x';\n" +
		"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n" +
		"SELECT pg_catalog.set_config('app.tenant', 'it''s 42', false);\nPREPARE a(int) AS SELECT $1;\n"
	if got != want {
		t.Errorf("replay:\n%s\nwant:\n%s", got, want)
	}
	if why := st.unmovable(); why != "" {
		t.Errorf("unmovable %q", why)
	}
	for q, why := range map[string]string{
		"LISTEN jobs":                                `LISTEN on "jobs"`,
		"CREATE TEMP TABLE x (i int)":                "temporary tables",
		"SELECT 1 INTO TEMPORARY t2":                 "temporary tables",
		"CREATE TABLE pg_temp.y (i int)":             "temporary tables",
		"SELECT pg_advisory_lock(42)":                "session advisory locks",
		"DECLARE c CURSOR WITH HOLD FOR SELECT 1":    "WITH HOLD cursors",
		"SELECT pg_advisory_xact_lock(1)":            "",
		"DECLARE d CURSOR WITHOUT HOLD FOR SELECT 1": "",
		"select * from t where name = 'temp holder'": "",
	} {
		s := newSessionState()
		s.apply(analyze(q))
		if got := s.unmovable(); !strings.Contains(got, why) || (why == "" && got != "") {
			t.Errorf("%s: unmovable %q, want %q", q, got, why)
		}
	}
	s := newSessionState()
	for _, q := range []string{"LISTEN a", "SELECT pg_advisory_lock(1)", "DECLARE c CURSOR WITH HOLD FOR SELECT 1", "CREATE TEMP TABLE z ()",
		"UNLISTEN *", "SELECT pg_advisory_unlock(1)", "CLOSE c", "DISCARD TEMP"} {
		s.apply(analyze(q))
	}
	if why := s.unmovable(); why != "" {
		t.Errorf("released state still unmovable: %q", why)
	}
	s.apply(analyze("SET x.y = 1"))
	s.apply(analyze("DISCARD ALL"))
	if s.replaySQL() != "" {
		t.Error("DISCARD ALL kept state")
	}
}
