// Package version says which release of dynamodb-tracker a binary was built from.
//
// A release build stamps it at link time:
//
//	go build -ldflags "-X github.com/dynamodb-tracker/dynamodb-tracker/internal/version.Version=v0.1.0" ./cmd/trackerctl
//
// (make build does so for the functions, from git describe). A binary built without the
// flag reports what Go recorded in its build information instead.
package version

import "runtime/debug"

// Dev is the version of a build that was not stamped and has no module version.
const Dev = "dev"

// Version is the version set at link time with -ldflags -X; Dev when not set.
var Version = Dev

// Get returns the binary's version: Version when it was set at link time; else the main
// module's version from the build information (what go install module@v0.1.0 records, or
// the pseudo-version Go derives from the git checkout); else Dev, with the VCS revision
// when the build recorded one ("dev+0123456789ab", "dev+0123456789ab-dirty").
func Get() string { return resolve(Version, debug.ReadBuildInfo) }

// resolve is Get with the stamped version and the build information passed in.
func resolve(stamped string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if stamped != "" && stamped != Dev {
		return stamped
	}
	info, ok := buildInfo()
	if !ok || info == nil {
		return Dev
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if revision == "" {
		return Dev
	}
	v := Dev + "+" + revision[:min(12, len(revision))]
	if dirty {
		v += "-dirty"
	}
	return v
}
