// Package runtimes turns a Lambda function's code, given as a path, into a bootstrap that the
// Lambda Runtime Interface Emulator runs as Lambda would run that code: a Go main package
// built for linux (Lambda's provided.al2023 runtime), a bootstrap already built, or a Python
// or Node.js handler run by this package's runtime interface client for its language
// (runtime.py, runtime.mjs), which speaks the Runtime API and reports the handler's errors
// (errorType, errorMessage, stackTrace or trace) as Lambda's python and nodejs runtimes do.
// The local stack's WORKER= and lambda-local's -function take their paths through it.
package runtimes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Kind is what a function's code is, and so which runtime runs it.
type Kind int

const (
	// Executable is a bootstrap built for linux on this machine, run as it is.
	Executable Kind = iota + 1
	// GoPackage is a directory holding a Go main package, built into a bootstrap.
	GoPackage
	// Python is a Python handler, run by runtime.py on python3.
	Python
	// Node is a Node.js handler (JavaScript, or TypeScript run by stripping its types), run by
	// runtime.mjs on Node.js.
	Node
)

func (k Kind) String() string {
	switch k {
	case Executable:
		return "a bootstrap"
	case GoPackage:
		return "a Go package"
	case Python:
		return "a Python handler"
	case Node:
		return "a Node.js handler"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Code is a function's code as Find found it at a path.
type Code struct {
	Kind Kind
	// Path is absolute: the bootstrap, the Go package's directory, or a handler's task root
	// (LAMBDA_TASK_ROOT: the directory its module is found from).
	Path string
	// Handler is a Python or Node.js handler's setting (_HANDLER): module.function.
	Handler string
	// Module is the absolute path of a handler's module file: the file Lambda's runtime loads.
	Module string
}

// Python's and Node.js's default modules in a directory, and Node.js's module extensions in
// the order its runtime tries them (UserFunction.js in aws-lambda-nodejs-runtime-interface-client).
var (
	pythonDefault  = "handler.handler"
	nodeDefaults   = []string{"index.handler", "handler.handler"}
	nodeExtensions = []string{".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"}
)

// UnknownCodeError is Find's answer for a path that holds no code it can run, or more than
// one kind of it.
type UnknownCodeError struct {
	Path  string // as given
	Found string // what the path holds instead
}

func (e *UnknownCodeError) Error() string {
	return fmt.Sprintf("%s is %s; want a directory holding a Go main package, an executable bootstrap, "+
		"a Python handler (a .py file, or a directory holding handler.py) or a Node.js handler "+
		"(a .js, .mjs, .cjs or .ts file, or a directory holding index.* or handler.*); "+
		"a directory may name its handler as DIR:module.function, a file its function as FILE:function",
		e.Path, e.Found)
}

// Find says what code path holds. path is a file or directory, optionally followed by
// ":HANDLER": for a directory, Lambda's handler setting (module.function, "handler.handler"
// by default for Python, "index.handler" or else "handler.handler" for Node.js); for a handler
// file, its function ("handler" by default). A directory with .go files and no HANDLER is a
// Go package; a file whose name ends in .py is a Python handler, in .js, .mjs, .cjs, .ts, .mts
// or .cts a Node.js handler; any other file must be an executable bootstrap. A path that is
// none of these is an *UnknownCodeError.
func Find(path string) (Code, error) {
	abs, handler, err := split(path)
	if err != nil {
		return Code{}, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Code{}, err
	}
	if !fi.IsDir() {
		return findFile(path, abs, fi, handler)
	}
	if handler == "" {
		goFiles, err := filepath.Glob(filepath.Join(abs, "*.go"))
		if err != nil {
			return Code{}, err
		}
		if len(goFiles) > 0 {
			return Code{Kind: GoPackage, Path: abs}, nil
		}
	}
	return findInDir(path, abs, handler)
}

// split cuts a trailing ":HANDLER" off path, unless path names a file as it is, and makes the
// rest absolute.
func split(path string) (abs, handler string, err error) {
	if i := strings.LastIndexByte(path, ':'); i > 0 {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			path, handler = path[:i], path[i+1:]
			if handler == "" {
				return "", "", fmt.Errorf("%s: empty handler after ':'", path)
			}
		}
	}
	abs, err = filepath.Abs(path)
	return abs, handler, err
}

func findFile(path, abs string, fi fs.FileInfo, function string) (Code, error) {
	ext := filepath.Ext(abs)
	module := strings.TrimSuffix(filepath.Base(abs), ext)
	if function == "" {
		function = "handler"
	}
	isPython, isNode := ext == ".py", slices.Contains(nodeExtensions, ext)
	switch {
	case (isPython || isNode) && strings.Contains(function, "."):
		return Code{}, &UnknownCodeError{path, fmt.Sprintf("a handler file given the handler %q: a file takes its function only (FILE:function)", function)}
	case isPython:
		return Code{Kind: Python, Path: filepath.Dir(abs), Handler: module + "." + function, Module: abs}, nil
	case isNode:
		// The runtime loads the first file of the module's name, in its order of extensions.
		if first := nodeModule(filepath.Dir(abs), module); first != abs {
			return Code{}, &UnknownCodeError{path, fmt.Sprintf("a Node.js handler that Lambda would not load: its module %q is %s", module, first)}
		}
		return Code{Kind: Node, Path: filepath.Dir(abs), Handler: module + "." + function, Module: abs}, nil
	case function != "handler":
		return Code{}, &UnknownCodeError{path, "a file that is no .py, .js, .mjs, .cjs or .ts handler, given a handler"}
	case fi.Mode().Perm()&0o111 == 0:
		return Code{}, &UnknownCodeError{path, "a file that is not executable"}
	}
	return Code{Kind: Executable, Path: abs}, nil
}

// findInDir finds the handler in the directory abs: the one handler names, or the default one.
func findInDir(path, abs, handler string) (Code, error) {
	var found []Code
	pythonHandlers, nodeHandlers := []string{pythonDefault}, nodeDefaults
	if handler != "" {
		pythonHandlers, nodeHandlers = []string{handler}, []string{handler}
	}
	for _, h := range pythonHandlers {
		if module := pythonModule(abs, h); module != "" {
			found = append(found, Code{Kind: Python, Path: abs, Handler: h, Module: module})
			break
		}
	}
	for _, h := range nodeHandlers {
		if module := nodeModule(abs, nodeModuleName(h)); module != "" {
			found = append(found, Code{Kind: Node, Path: abs, Handler: h, Module: module})
			break
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return Code{}, &UnknownCodeError{path, fmt.Sprintf("a directory with both a Python and a Node.js handler (%s and %s): give the file",
			filepath.Base(found[0].Module), filepath.Base(found[1].Module))}
	case handler != "":
		return Code{}, &UnknownCodeError{path, fmt.Sprintf("a directory with no module for the handler %q", handler)}
	}
	return Code{}, &UnknownCodeError{path, "a directory with no .go file, no handler.py and no index or handler .js, .mjs, .cjs or .ts file"}
}

// pythonModule is the file of the module of the Python handler setting h (module.function,
// the module possibly a package path) under root, "" if there is none.
func pythonModule(root, h string) string {
	i := strings.LastIndexByte(h, '.')
	if i <= 0 {
		return ""
	}
	base := filepath.Join(root, filepath.FromSlash(strings.ReplaceAll(h[:i], ".", "/")))
	for _, f := range []string{base + ".py", filepath.Join(base, "__init__.py")} {
		if isFile(f) {
			return f
		}
	}
	return ""
}

// nodeModuleName is the module path of the Node.js handler setting h: its directory and the
// name before the first '.' of its last element ("src/index" of "src/index.lib.handler").
func nodeModuleName(h string) string {
	dir, base := filepath.Split(filepath.FromSlash(h))
	name, _, ok := strings.Cut(base, ".")
	if !ok {
		return ""
	}
	return filepath.Join(dir, name)
}

// nodeModule is the file the Node.js runtime loads for module under root, "" if none.
func nodeModule(root, module string) string {
	if module == "" {
		return ""
	}
	for _, ext := range nodeExtensions {
		if f := filepath.Join(root, module+ext); isFile(f) {
			return f
		}
	}
	return ""
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
