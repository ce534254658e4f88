package main

import (
	"runtime"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/version"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	t.Run("text names the version, the Go version and the platform", func(t *testing.T) {
		t.Parallel()
		r := (&cli{env: map[string]string{}, version: "v0.1.0"}).run(t, "version").wantCode(t, exitOK)
		if want := "trackerctl v0.1.0 (" + runtime.Version() + " " + platform + ")\n"; r.stdout != want || r.stderr != "" {
			t.Errorf("stdout %q, stderr %q; want stdout %q", r.stdout, r.stderr, want)
		}
	})
	t.Run("JSON follows the schema", func(t *testing.T) {
		t.Parallel()
		r := (&cli{env: map[string]string{}, version: "v0.1.0"}).run(t, "version", "-o", "json").wantCode(t, exitOK)
		var got versionInfo
		decodeStrict(t, r.stdout, &got, "version", "go", "platform")
		if want := (versionInfo{Version: "v0.1.0", Go: runtime.Version(), Platform: platform}); got != want {
			t.Errorf("JSON = %+v, want %+v", got, want)
		}
	})
	t.Run("the version is the binary's", func(t *testing.T) {
		t.Parallel()
		if got, want := newApp(nil, nil, nil, nil).version, version.Get(); got != want {
			t.Errorf("app version %q, want version.Get() = %q", got, want)
		}
	})
	t.Run("it needs no table and takes no argument", func(t *testing.T) {
		t.Parallel()
		(&cli{env: map[string]string{}}).run(t, "version", "extra").wantCode(t, exitUsage).wantOneLineError(t, "version takes no arguments, got 1")
	})
}
