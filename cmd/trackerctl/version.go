package main

import (
	"context"
	"fmt"
	"runtime"
)

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version of trackerctl",
		help: `Print the version trackerctl was built from (stamped at link time, else what Go recorded
in the build information, else "dev"), the Go version and the platform. The Lambda functions
log the same version at cold start.`,
		nArg: [2]int{0, 0},
		run: func(_ context.Context, a *app, _ []string) error {
			out := versionInfo{Version: a.version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			if a.opts.json {
				return printJSON(a.stdout, out)
			}
			fmt.Fprintf(a.stdout, "trackerctl %s (%s %s)\n", escape(out.Version), out.Go, out.Platform)
			return nil
		},
	}
}

// versionInfo is the JSON output of version.
type versionInfo struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}
