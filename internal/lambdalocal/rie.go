package lambdalocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// riePath is the module of the Runtime Interface Emulator, a tool of this module.
const riePath = "github.com/aws/aws-lambda-runtime-interface-emulator"

// BuildRIE builds the aws-lambda-rie binary of the RIE version the current module requires
// into dir ("" means the user cache directory) and returns its path. A binary built for that
// version before is reused. It runs the go command from the working directory, which must be
// inside the module.
func BuildRIE(ctx context.Context, dir string) (string, error) {
	// go mod download fetches the module if the cache lacks it, and says where it is.
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", riePath).Output()
	if err != nil {
		return "", fmt.Errorf("lambdalocal: locate the RIE module: %w%s", err, stderrOf(err))
	}
	var mod struct{ Dir, Version, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", fmt.Errorf("lambdalocal: locate the RIE module: %w", err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("lambdalocal: locate the RIE module: %s", mod.Error)
	}
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("lambdalocal: %w", err)
		}
		dir = filepath.Join(cache, "dynamodb-tracker", "lambdalocal")
	}
	bin := filepath.Join(dir, "aws-lambda-rie@"+mod.Version)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("lambdalocal: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", fmt.Errorf("lambdalocal: %w", err)
	}
	defer os.RemoveAll(tmp)
	built := filepath.Join(tmp, "aws-lambda-rie")
	// Build inside the RIE's own module, against the go.sum it was released with: this
	// module's newer testify (a dependency of the RIE's mocks) needs go.sum entries the RIE
	// does not, and its versions are not the ones the RIE was tested with anyway.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", built, "./cmd/aws-lambda-rie")
	build.Dir = mod.Dir
	build.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambdalocal: build the RIE: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if err := os.Rename(built, bin); err != nil {
		return "", fmt.Errorf("lambdalocal: %w", err)
	}
	return bin, nil
}

func stderrOf(err error) string {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}
