package console

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestStaticFiles: every embedded static file is in static/README.md's table, and a vendored
// file is byte for byte the one the table names (its sha256), so that an update is a
// deliberate change of both.
func TestStaticFiles(t *testing.T) {
	readme, err := staticFS.ReadFile("static/README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // file -> its row
	for _, line := range strings.Split(string(readme), "\n") {
		if m := regexp.MustCompile("^\\| `([^`]+)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	err = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "static/README.md" {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		row, ok := rows[name]
		if !ok {
			t.Errorf("%s is embedded but not in static/README.md", name)
			return nil
		}
		delete(rows, name)
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		if strings.Contains(row, "sha256") && !strings.Contains(row, hex.EncodeToString(sum[:])) {
			t.Errorf("%s has sha256 %x, not the one static/README.md records", name, sum)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range rows {
		t.Errorf("static/README.md lists %s, which is not embedded", name)
	}
	if !strings.Contains(string(readme), "Zero-Clause BSD") {
		t.Error("static/README.md does not name htmx's licence")
	}
}
