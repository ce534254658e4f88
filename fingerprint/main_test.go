package fingerprint_test

import (
	"fmt"
	"os"
	"testing"
)

// goBuildDir holds the goworker builds of the test binary's run, shared by its tests (a
// build takes a second, and most tests run the same source).
var goBuildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fingerprint-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goBuildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
