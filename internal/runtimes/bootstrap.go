package runtimes

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// The runtime interface clients, written next to the bootstraps that run them.
var (
	//go:embed runtime.py
	pythonClient []byte
	//go:embed runtime.mjs
	nodeClient []byte
)

// Config says where Bootstrap writes what it makes, and what it runs handlers on.
type Config struct {
	// Dir is where a Go package is built and a handler's bootstrap and runtime client are
	// written (Dir/bootstrap and its client); required unless the code is a bootstrap.
	Dir string
	// Arch is the GOARCH a Go package is built for; "" means this machine's.
	Arch string
	// Python is the python3 that runs Python handlers; "" means python3 on PATH.
	Python string
	// Node is the node that runs Node.js handlers; "" means node on PATH. TypeScript needs
	// Node.js 22.6 or later (--experimental-strip-types).
	Node string
}

// Bootstrap finds the code at path (Find) and returns the path of an executable that the
// Runtime Interface Emulator runs as the function's bootstrap: a bootstrap as it is, a Go
// package built into Dir/bootstrap, or for a handler a shell script Dir/bootstrap that sets
// LAMBDA_TASK_ROOT and _HANDLER as Lambda does and runs the language's runtime client on it.
// The interpreter is resolved and checked now, so that a missing one is an error here and not
// at the first invocation.
func Bootstrap(ctx context.Context, path string, cfg Config) (string, error) {
	code, err := Find(path)
	if err != nil {
		return "", err
	}
	if code.Kind == Executable {
		return code.Path, nil
	}
	if cfg.Dir == "" {
		return "", errors.New("runtimes: no Config.Dir to write the bootstrap of " + path)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(cfg.Dir, "bootstrap")
	switch code.Kind {
	case GoPackage:
		if err := BuildGo(ctx, code.Path, ".", out, cfg.Arch); err != nil {
			return "", fmt.Errorf("build %s: %w", path, err)
		}
		return out, nil
	case Python:
		return out, pythonBootstrap(ctx, code, cfg, out)
	default:
		return out, nodeBootstrap(ctx, code, cfg, out)
	}
}

// BuildGo builds the main package pkg, relative to dir (which must be inside a module that
// resolves its imports), for linux/arch ("" means this machine's) into the file out, as
// `make build` builds the functions.
func BuildGo(ctx context.Context, dir, pkg, out, arch string) error {
	if arch == "" {
		arch = runtime.GOARCH
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, msg)
	}
	return nil
}

// pythonBootstrap writes the runtime client and a bootstrap that runs it on the python3 that
// cfg.Python or PATH names, by its real path (a pyenv shim, say, needs an environment the
// function does not have).
func pythonBootstrap(ctx context.Context, code Code, cfg Config, out string) error {
	python := cfg.Python
	if python == "" {
		python = "python3"
	}
	info, err := exec.CommandContext(ctx, python, "-c", `import sys; print(sys.executable); print("%d.%d" % sys.version_info[:2])`).Output()
	if err != nil {
		return fmt.Errorf("%s runs Python handlers, and could not be run: %w", python, err)
	}
	lines := strings.Fields(string(info))
	if len(lines) != 2 || !atLeast(lines[1], 3, 9) {
		return fmt.Errorf("%s runs Python handlers: want Python 3.9 or later, got %q", python, bytes.TrimSpace(info))
	}
	client := filepath.Join(filepath.Dir(out), "runtime.py")
	if err := os.WriteFile(client, pythonClient, 0o644); err != nil {
		return err
	}
	return writeBootstrap(out, code, map[string]string{
		"AWS_EXECUTION_ENV": "AWS_Lambda_python" + lines[1],
		// Lambda's task root is read-only: no __pycache__ in the user's tree either.
		"PYTHONDONTWRITEBYTECODE": "1",
	}, lines[0], client)
}

// nodeBootstrap writes the runtime client and a bootstrap that runs it on cfg.Node, with type
// stripping for a TypeScript module.
func nodeBootstrap(ctx context.Context, code Code, cfg Config, out string) error {
	node := cfg.Node
	if node == "" {
		node = "node"
	}
	path, err := exec.LookPath(node)
	if err != nil {
		return fmt.Errorf("%s runs Node.js handlers, and is not there: %w", node, err)
	}
	if path, err = filepath.Abs(path); err != nil {
		return err
	}
	version, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s runs Node.js handlers, and could not be run: %w", path, err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(version)), "v")
	args := []string{path}
	if ext := filepath.Ext(code.Module); ext == ".ts" || ext == ".mts" || ext == ".cts" {
		if !atLeast(v, 22, 6) {
			return fmt.Errorf("%s is Node.js %s: TypeScript handlers (%s) need 22.6 or later, which strips their types", path, v, filepath.Base(code.Module))
		}
		args = append(args, "--experimental-strip-types", "--disable-warning=ExperimentalWarning")
	}
	client := filepath.Join(filepath.Dir(out), "runtime.mjs")
	if err := os.WriteFile(client, nodeClient, 0o644); err != nil {
		return err
	}
	major, _, _ := strings.Cut(v, ".")
	return writeBootstrap(out, code, map[string]string{"AWS_EXECUTION_ENV": "AWS_Lambda_nodejs" + major + ".x"}, append(args, client)...)
}

// writeBootstrap writes the shell script out that sets Lambda's variables for code and env,
// goes to the task root (the working directory Lambda gives a function) and execs command.
func writeBootstrap(out string, code Code, env map[string]string, command ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# %s, %s in %s, as Lambda runs it: written by internal/runtimes.\n", code.Kind, code.Handler, code.Path)
	vars := map[string]string{"LAMBDA_TASK_ROOT": code.Path, "_HANDLER": code.Handler, "LAMBDA_RUNTIME_DIR": filepath.Dir(out)}
	maps.Copy(vars, env)
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		fmt.Fprintf(&b, "export %s=%s\n", k, quote(vars[k]))
	}
	b.WriteString("cd \"$LAMBDA_TASK_ROOT\" || exit 1\nexec")
	for _, arg := range command {
		b.WriteString(" " + quote(arg))
	}
	b.WriteString("\n")
	// Written beside and renamed, so that an RIE never runs half a script.
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// quote quotes s for sh.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// atLeast reports whether the version "major.minor[.patch]" is at least major.minor.
func atLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && (ma > major || ma == major && mi >= minor)
}
