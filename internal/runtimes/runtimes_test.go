package runtimes_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/runtimes"
)

// tree writes files (path: mode) under a temporary directory and returns it.
func tree(t *testing.T, files map[string]os.FileMode) string {
	t.Helper()
	root := t.TempDir()
	for name, mode := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestFind(t *testing.T) {
	t.Parallel()
	root := tree(t, map[string]os.FileMode{
		"py/handler.py":           0o644,
		"py/other.py":             0o644,
		"pkg/jobs/work.py":        0o644,
		"pkg/jobs/__init__.py":    0o644,
		"ts/handler.ts":           0o644,
		"mjs/index.mjs":           0o644,
		"js/handler.js":           0o644,
		"both-node/index.js":      0o644,
		"both-node/handler.js":    0o644,
		"shadow/handler.js":       0o644,
		"shadow/handler.ts":       0o644,
		"go/main.go":              0o644,
		"go/handler.py":           0o644,
		"bin/bootstrap":           0o755,
		"bin/notes.txt":           0o644,
		"mixed/handler.py":        0o644,
		"mixed/handler.ts":        0o644,
		"with:colon/bootstrap":    0o755,
		"with:colon/handler.py":   0o644,
		"src-layout/src/index.js": 0o644,
	})
	at := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	for _, tc := range []struct {
		name, path string
		want       runtimes.Code
	}{
		{"a .py file runs its handler function", "py/handler.py",
			runtimes.Code{Kind: runtimes.Python, Path: at("py"), Handler: "handler.handler", Module: at("py/handler.py")}},
		{"a .py file and its function", "py/other.py:main",
			runtimes.Code{Kind: runtimes.Python, Path: at("py"), Handler: "other.main", Module: at("py/other.py")}},
		{"a directory holding handler.py runs handler.handler", "py",
			runtimes.Code{Kind: runtimes.Python, Path: at("py"), Handler: "handler.handler", Module: at("py/handler.py")}},
		{"a directory and a handler setting", "py:other.run",
			runtimes.Code{Kind: runtimes.Python, Path: at("py"), Handler: "other.run", Module: at("py/other.py")}},
		{"a handler setting whose module is a package path", "pkg:jobs.work.run",
			runtimes.Code{Kind: runtimes.Python, Path: at("pkg"), Handler: "jobs.work.run", Module: at("pkg/jobs/work.py")}},
		{"a handler setting whose module is a package", "pkg:jobs.run",
			runtimes.Code{Kind: runtimes.Python, Path: at("pkg"), Handler: "jobs.run", Module: at("pkg/jobs/__init__.py")}},
		{"a .ts file", "ts/handler.ts",
			runtimes.Code{Kind: runtimes.Node, Path: at("ts"), Handler: "handler.handler", Module: at("ts/handler.ts")}},
		{"a directory holding index.mjs runs index.handler", "mjs",
			runtimes.Code{Kind: runtimes.Node, Path: at("mjs"), Handler: "index.handler", Module: at("mjs/index.mjs")}},
		{"a directory holding handler.js runs handler.handler", "js",
			runtimes.Code{Kind: runtimes.Node, Path: at("js"), Handler: "handler.handler", Module: at("js/handler.js")}},
		{"index comes before handler", "both-node",
			runtimes.Code{Kind: runtimes.Node, Path: at("both-node"), Handler: "index.handler", Module: at("both-node/index.js")}},
		{"a Node.js handler setting with a nested function", "both-node:handler.lib.run",
			runtimes.Code{Kind: runtimes.Node, Path: at("both-node"), Handler: "handler.lib.run", Module: at("both-node/handler.js")}},
		{"a Node.js handler setting in a subdirectory", "src-layout:src/index.handler",
			runtimes.Code{Kind: runtimes.Node, Path: at("src-layout"), Handler: "src/index.handler", Module: at("src-layout/src/index.js")}},
		{"the file Lambda loads first", "shadow/handler.js",
			runtimes.Code{Kind: runtimes.Node, Path: at("shadow"), Handler: "handler.handler", Module: at("shadow/handler.js")}},
		{"a directory with .go files is a Go package", "go",
			runtimes.Code{Kind: runtimes.GoPackage, Path: at("go")}},
		{"a Go package's directory given a handler setting is a handler", "go:handler.handler",
			runtimes.Code{Kind: runtimes.Python, Path: at("go"), Handler: "handler.handler", Module: at("go/handler.py")}},
		{"an executable file is a bootstrap", "bin/bootstrap",
			runtimes.Code{Kind: runtimes.Executable, Path: at("bin/bootstrap")}},
		{"a path with a colon is a path first", "with:colon/bootstrap",
			runtimes.Code{Kind: runtimes.Executable, Path: at("with:colon/bootstrap")}},
		{"a path with a colon and a handler setting", "with:colon:handler.main",
			runtimes.Code{Kind: runtimes.Python, Path: at("with:colon"), Handler: "handler.main", Module: at("with:colon/handler.py")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runtimes.Find(at(tc.path))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Find(%s) = %+v, want %+v", tc.path, got, tc.want)
			}
		})
	}

	for _, tc := range []struct{ name, path, found string }{
		{"a directory with no code", "empty",
			"a directory with no .go file, no handler.py and no index or handler .js, .mjs, .cjs or .ts file"},
		{"a directory with a Python and a Node.js handler", "mixed",
			"a directory with both a Python and a Node.js handler (handler.py and handler.ts): give the file"},
		{"a handler setting with no module", "py:missing.handler",
			`a directory with no module for the handler "missing.handler"`},
		{"a file that is not executable", "bin/notes.txt", "a file that is not executable"},
		{"a file that is no handler, given a function", "bin/bootstrap:main",
			"a file that is no .py, .js, .mjs, .cjs or .ts handler, given a handler"},
		{"a handler file given a module", "py/handler.py:other.handler",
			`a handler file given the handler "other.handler": a file takes its function only (FILE:function)`},
		{"a Node.js file that another of its module's name shadows", "shadow/handler.ts",
			`a Node.js handler that Lambda would not load: its module "handler" is ` + at("shadow/handler.js")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runtimes.Find(at(tc.path))
			uerr, ok := errors.AsType[*runtimes.UnknownCodeError](err)
			if !ok {
				t.Fatalf("Find(%s): %v, want an *UnknownCodeError", tc.path, err)
			}
			if uerr.Path != at(tc.path) || uerr.Found != tc.found {
				t.Errorf("Find(%s): %+v, want found %q", tc.path, *uerr, tc.found)
			}
		})
	}

	t.Run("a missing path", func(t *testing.T) {
		_, err := runtimes.Find(at("nope"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Find(nope): %v, want fs.ErrNotExist", err)
		}
	})
}
