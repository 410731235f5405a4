package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSiteBuild_CarriesNoCentralCodeAndNoTemplates checks what `go build
// -tags site` links: the edge, and neither central, the TUI, the demo nor
// a template package used by anything but cobra: executing a template
// makes the linker keep every exported method of every type (it looks
// methods up by name), ~10 MB more resident memory on a site. cobra
// imports text/template but executes it only for templates set with
// SetUsageTemplate and the like, which vendsync does not use.
func TestSiteBuild_CarriesNoCentralCodeAndNoTemplates(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "site", "-f", `{{.ImportPath}}:{{join .Imports ","}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -tags site: %v\n%s", err, out)
	}
	imports := map[string][]string{}
	for _, line := range strings.Fields(string(out)) {
		pkg, list, _ := strings.Cut(line, ":")
		imports[pkg] = strings.Split(list, ",")
	}
	if _, ok := imports["github.com/vendsync/vendsync/edge"]; !ok {
		t.Fatalf("the site build does not link the edge:\n%s", out)
	}
	for d, imps := range imports {
		for _, banned := range []string{"github.com/vendsync/vendsync/central", "github.com/vendsync/vendsync/tui", "github.com/vendsync/vendsync/internal/demo"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("the site build links %s", d)
			}
		}
		for _, imp := range imps {
			if (imp == "text/template" || imp == "html/template") && d != "github.com/spf13/cobra" && !strings.HasPrefix(d, "text/") && !strings.HasPrefix(d, "html/") {
				t.Errorf("%s imports %s in the site build (it disables the linker's dead-code elimination of methods)", d, imp)
			}
		}
	}
}
