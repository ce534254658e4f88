package version

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	info := func(main string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/dynamodb-tracker/dynamodb-tracker", Version: main}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name      string
		stamped   string
		buildInfo func() (*debug.BuildInfo, bool)
		want      string
	}{
		{"a version stamped at link time wins over the build information", "v0.1.0", info("v0.0.9"), "v0.1.0"},
		{"an unstamped build reports the module version go install recorded", Dev, info("v0.1.0"), "v0.1.0"},
		{"an empty stamp counts as no stamp", "", info("v0.1.0"), "v0.1.0"},
		{"a pseudo-version derived from the checkout is reported as it is", Dev, info("v0.0.0-20261201221821-0123456789ab+dirty"), "v0.0.0-20261201221821-0123456789ab+dirty"},
		{"a devel build reports dev and the revision", Dev, info("(devel)", "vcs.revision", rev, "vcs.modified", "false"), "dev+0123456789ab"},
		{"a devel build of a modified tree says dirty", Dev, info("(devel)", "vcs.revision", rev, "vcs.modified", "true"), "dev+0123456789ab-dirty"},
		{"a devel build without VCS information is dev", Dev, info("(devel)"), "dev"},
		{"no build information is dev", Dev, none, "dev"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := resolve(tc.stamped, tc.buildInfo); got != tc.want {
				t.Errorf("resolve(%q) = %q, want %q", tc.stamped, got, tc.want)
			}
		})
	}
}

func TestGetIsVersionWhenStamped(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "v9.8.7"
	if got := Get(); got != "v9.8.7" {
		t.Errorf("Get() = %q, want the stamped v9.8.7", got)
	}
}

// TestLinkerFlagStampsTheBinary builds testdata/printversion with the -X flag the Makefile
// passes, and runs it.
func TestLinkerFlagStampsTheBinary(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "printversion")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X "+importPath+".Version=v0.1.0-test", "-o", bin, "./testdata/printversion")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "v0.1.0-test" {
		t.Errorf("the stamped binary prints %q, want v0.1.0-test", got)
	}
}

// importPath is the package's path, as the -X flag names it.
const importPath = "github.com/dynamodb-tracker/dynamodb-tracker/internal/version"
