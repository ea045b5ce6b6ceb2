package preflight

// Target: PF012 (extensions and preload libraries on the target).

import (
	"context"
	"fmt"
	"strings"
)

type available struct {
	Name    string `db:"name"`
	Version string `db:"version"`
}

func ruleExtensions(ctx context.Context, e *env) ([]Finding, error) {
	srcExt, err := collect[extension](ctx, e.src, "extensions.sql")
	if err != nil {
		return nil, err
	}
	dstExt, err := collect[extension](ctx, e.dst, "extensions.sql")
	if err != nil {
		return nil, err
	}
	avail, err := collect[available](ctx, e.dst, "available_extensions.sql")
	if err != nil {
		return nil, err
	}
	installed := map[string]string{}
	for _, x := range dstExt {
		installed[x.Name] = x.Version
	}
	versions := map[string]map[string]bool{}
	for _, a := range avail {
		if versions[a.Name] == nil {
			versions[a.Name] = map[string]bool{}
		}
		versions[a.Name][a.Version] = true
	}
	var missing, missingLines, differ, differLines, notCreated []string
	for _, x := range srcExt {
		id := x.Name + " " + x.Version
		switch v, ok := installed[x.Name]; {
		case ok && v == x.Version:
		case ok:
			differ = append(differ, id)
			differLines = append(differLines, fmt.Sprintf("%s: source %s, target %s", x.Name, x.Version, v))
		case versions[x.Name] == nil:
			missing = append(missing, id)
			missingLines = append(missingLines, fmt.Sprintf("%s %s: not available on the target server", x.Name, x.Version))
		case !versions[x.Name][x.Version]:
			differ = append(differ, id)
			differLines = append(differLines, fmt.Sprintf("%s: source %s is not available on the target (available: %s)",
				x.Name, x.Version, strings.Join(sortedKeys(versions[x.Name]), ", ")))
		default:
			notCreated = append(notCreated, id)
		}
	}
	var out []Finding
	if len(missing) > 0 {
		out = append(out, Finding{Severity: Critical, Side: SideTarget, Objects: missing,
			Title: "extensions missing on the target",
			Detail: "The target server cannot install these extensions: restoring the schema fails for every " +
				"object that uses them.\n" + strings.Join(missingLines, "\n"),
			Remedy: "Install the extension's package for the target major on the target host, then CREATE EXTENSION.",
		})
	}
	if len(differ) > 0 {
		out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: differ,
			Title: "extensions at other versions on the target",
			Detail: "The target has or can only install other versions; functions, types and operators may " +
				"behave differently.\n" + strings.Join(differLines, "\n"),
			Remedy: "Check the extensions' release notes; ALTER EXTENSION <name> UPDATE TO '<version>'; where " +
				"both sides should match.",
		})
	}
	if len(notCreated) > 0 {
		out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: notCreated,
			Title:  "extensions not created in the target database",
			Detail: "The target server provides these extensions, but they are not created in the target database.",
			Remedy: "Restore the schema (pg_dump --schema-only) or CREATE EXTENSION <name> VERSION '<version>'; on the target.",
		})
	}
	srcLibs, dstLibs := libraries(e.src.settings["shared_preload_libraries"]), libraries(e.dst.settings["shared_preload_libraries"])
	var libs []string
	for _, l := range sortedKeys(srcLibs) {
		if !dstLibs[l] {
			libs = append(libs, l)
		}
	}
	if len(libs) > 0 {
		out = append(out, Finding{Severity: Warning, Side: SideTarget, Objects: libs,
			Title:  "shared_preload_libraries missing on the target",
			Detail: "The source preloads libraries the target does not; extensions that need them fail or lose features.",
			Remedy: "ALTER SYSTEM SET shared_preload_libraries = '...'; on the target with these added, then restart it.",
		})
	}
	return out, nil
}

func libraries(s string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(s, ",") {
		l = strings.Trim(strings.TrimSpace(l), `"`)
		if l != "" {
			out[l] = true
		}
	}
	return out
}
