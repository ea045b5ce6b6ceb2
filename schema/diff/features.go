package diff

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// features are the catalog differences between majors the queries branch
// on. This is the one place that maps a server version to them; the .sql
// templates only test these flags.
type features struct {
	Major int
	// PG14: pg_proc.prosqlbody (SQL-standard bodies), multirange types.
	PG14 bool
	// PG15: pg_index.indnullsnotdistinct, publication row filters and
	// column lists (pg_publication_rel.prqual/prattrs), FOR TABLES IN SCHEMA
	// (pg_publication_namespace).
	PG15 bool
	// PG17: the MAINTAIN table privilege. (PG 16 changed no catalog
	// column these queries read; its deparse changes are handled in
	// canon.go.)
	PG17 bool
}

func featuresFor(versionNum int) features {
	major := versionNum / 10000
	return features{Major: major, PG14: major >= 14, PG15: major >= 15, PG17: major >= 17}
}

// queryFiles are the per-kind catalog queries, in reading order.
var queryFiles = []string{
	"schemas.sql",
	"extensions.sql",
	"types.sql",
	"domain_constraints.sql",
	"sequences.sql",
	"tables.sql",
	"columns.sql",
	"constraints.sql",
	"indexes.sql",
	"views.sql",
	"functions.sql",
	"triggers.sql",
	"rules.sql",
	"policies.sql",
	"publications.sql",
	"default_privileges.sql",
}

// sqlFuncs are helpers the templates share so that filters read the same
// in every query.
var sqlFuncs = template.FuncMap{
	// userSchema is true for namespaces that hold user objects.
	"userSchema": func(nspname string) string {
		return fmt.Sprintf("(%[1]s NOT IN ('pg_catalog', 'information_schema') AND %[1]s !~ '^pg_(toast|temp_|toast_temp_)')", nspname)
	},
	// notExtension is true for objects that no extension owns: those come
	// and go with the extension, whose version is compared instead.
	"notExtension": func(catalog, oid string) string {
		return fmt.Sprintf("NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '%s'::regclass AND xd.objid = %s AND xd.deptype = 'e')", catalog, oid)
	},
	// notInternal is true for objects that are not the implementation of
	// another object (array and row types, range and multirange
	// constructors, ...): those exist or not with their owner.
	"notInternal": func(catalog, oid string) string {
		return fmt.Sprintf("NOT EXISTS (SELECT 1 FROM pg_depend xi WHERE xi.classid = '%s'::regclass AND xi.objid = %s AND xi.deptype = 'i')", catalog, oid)
	},
	// acl is an ACL exploded into [grantee, grantor, privilege, grantable]
	// rows, with the built-in default made explicit so NULL and an equal
	// explicit ACL compare equal. The owner appears as "(owner)": who owns
	// the object is the owner attribute, and an owner change, which moves
	// the owner's grants with it, is reported there once.
	"acl": func(acl, kind, owner string) string {
		return fmt.Sprintf(`(SELECT coalesce(json_agg(json_build_array(
                CASE WHEN x.grantee = %[3]s THEN '(owner)' WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END,
                CASE WHEN x.grantor = %[3]s THEN '(owner)' ELSE pg_get_userbyid(x.grantor)::text END,
                x.privilege_type, x.is_grantable)), '[]')
            FROM aclexplode(coalesce(%[1]s, acldefault(%[2]s, %[3]s))) x)`, acl, kind, owner)
	},
	// qname is schema.name quoted only where needed.
	"qname": func(nsp, name string) string {
		return fmt.Sprintf("(quote_ident(%s) || '.' || quote_ident(%s))", nsp, name)
	},
}

// renderQueries expands every query template for one server.
func renderQueries(f features) (map[string]string, error) {
	out := make(map[string]string, len(queryFiles))
	for _, name := range queryFiles {
		src, err := sqlFiles.ReadFile("sql/" + name)
		if err != nil {
			return nil, fmt.Errorf("reading query %s: %w", name, err)
		}
		t, err := template.New(name).Funcs(sqlFuncs).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("parsing query %s: %w", name, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, f); err != nil {
			return nil, fmt.Errorf("rendering query %s: %w", name, err)
		}
		out[name] = strings.TrimSpace(b.String())
	}
	return out, nil
}
