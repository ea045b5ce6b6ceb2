package lint

import (
	"reflect"
	"testing"
)

func TestOrderMigrations(t *testing.T) {
	in := []string{"100_x.up.sql", "11_y.up.sql", "2_z.up.sql", "11_y.down.sql", "002_a.sql", "V10__b.sql", "V9__c.sql", "init.sql", "100_x.down.sql"}
	got, skipped := OrderMigrations(in, false)
	want := []string{"002_a.sql", "2_z.up.sql", "11_y.up.sql", "100_x.up.sql", "V9__c.sql", "V10__b.sql", "init.sql"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order\n got %q\nwant %q", got, want)
	}
	if !reflect.DeepEqual(skipped, []string{"100_x.down.sql", "11_y.down.sql"}) {
		t.Errorf("skipped %q", skipped)
	}
	if got, skipped := OrderMigrations(in, true); len(got) != len(in) || len(skipped) != 0 {
		t.Errorf("includeDown: %q, skipped %q", got, skipped)
	}
}
