package construct

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"
)

// Without Props.AssetDir the construct builds its functions itself, from the source of the
// module it belongs to: the clone it is used from, or the module cache directory `go get`
// filled. A Go CDK app has the Go toolchain, so the build is CDK local bundling running
// `go build`; with no go on PATH, CDK bundles in Docker instead, in BuildImage.

// BuildImage is the Docker image the construct builds its functions in when no go command
// is on PATH (CDK's Docker bundling, with the module's source mounted at /asset-input).
const BuildImage = "public.ecr.aws/docker/library/golang:1.26"

// modulePath is the path of the module the construct belongs to,
// github.com/dynamodb-tracker/dynamodb-tracker.
var modulePath = strings.TrimSuffix(reflect.TypeFor[Props]().PkgPath(), "/infra/construct")

// source is the module's source the functions are built from.
type source struct {
	// Dir is the module's root directory.
	Dir string
	// Version is the module's version, stamped into the binaries (internal/version); ""
	// for a clone or a directory a replace directive names, whose version is unknown.
	Version string
}

// lookGo returns the go command on PATH, or "" when there is none.
func lookGo() string {
	path, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	return path
}

// findSource finds the module's source. With the go command (goCmd), it is the directory
// `go list -m` reports from the working directory: the clone, the module cache directory of
// the required version, or a replace directive's directory; outside a module, the version
// the program was built with, downloaded into the module cache. Without go, it is the clone
// at or above the working directory, or the module cache directory of the version the
// program was built with.
func findSource(goCmd string) (source, error) {
	if goCmd == "" {
		return findSourceWithoutGo()
	}
	src, err := listModule(goCmd)
	if err == nil {
		return src, nil
	}
	version, ok := builtVersion()
	if !ok {
		return source{}, err
	}
	return downloadModule(goCmd, version)
}

// listedModule is what `go list -m -json` and `go mod download -json` say of a module.
type listedModule struct {
	Path, Version, Dir string
	Main               bool
	Replace            *struct{ Path, Version, Dir string }
	// Error is go mod download's error text (go list's is an object, and it fails then).
	Error any
}

// listModule asks the go command where the module is, from the working directory.
func listModule(goCmd string) (source, error) {
	out, err := goOutput(goCmd, "", "list", "-m", "-json", modulePath)
	if err != nil {
		return source{}, err
	}
	var m listedModule
	if err := json.Unmarshal(out, &m); err != nil {
		return source{}, fmt.Errorf("go list -m %s: %w", modulePath, err)
	}
	switch {
	case m.Dir != "" && m.Main:
		return source{Dir: m.Dir}, nil
	case m.Dir != "" && m.Replace != nil:
		return source{Dir: m.Dir, Version: m.Replace.Version}, nil // no version for a directory
	case m.Dir != "":
		return source{Dir: m.Dir, Version: m.Version}, nil
	case m.Replace == nil && m.Version != "":
		return downloadModule(goCmd, m.Version) // in the module graph, not yet downloaded
	}
	return source{}, fmt.Errorf("go list -m %s: no directory", modulePath)
}

// downloadModule downloads version of the module into the module cache (a no-op when it is
// there) and returns its directory.
func downloadModule(goCmd, version string) (source, error) {
	out, err := goOutput(goCmd, os.TempDir(), "mod", "download", "-json", modulePath+"@"+version)
	var m listedModule
	if jerr := json.Unmarshal(out, &m); jerr == nil && m.Error != nil {
		return source{}, fmt.Errorf("go mod download %s@%s: %v", modulePath, version, m.Error)
	}
	if err != nil {
		return source{}, err
	}
	if m.Dir == "" {
		return source{}, fmt.Errorf("go mod download %s@%s: no directory", modulePath, version)
	}
	return source{Dir: m.Dir, Version: version}, nil
}

// goOutput runs the go command in dir ("" for the working directory) and returns its
// standard output, or an error holding its standard error.
func goOutput(goCmd, dir string, args ...string) ([]byte, error) {
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// builtVersion is the module's version the running program was built with, when the
// program is another module's that requires this one (not replaced).
func builtVersion() (string, bool) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", false
	}
	for _, dep := range info.Deps {
		if dep.Path == modulePath && dep.Replace == nil && dep.Version != "" {
			return dep.Version, true
		}
	}
	return "", false
}

// findSourceWithoutGo finds the module's source with no go command to ask: a clone at or
// above the working directory, or the module cache directory of the version the program was
// built with.
func findSourceWithoutGo() (source, error) {
	if dir, err := os.Getwd(); err == nil {
		for ; ; dir = filepath.Dir(dir) {
			if declaresModule(filepath.Join(dir, "go.mod")) {
				return source{Dir: dir}, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if version, ok := builtVersion(); ok {
		// The module path and its versions are lower case: their cache directory names need
		// no escaping.
		dir := filepath.Join(moduleCache(), filepath.FromSlash(modulePath)+"@"+version)
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return source{Dir: dir, Version: version}, nil
		}
	}
	return source{}, errors.New("no go command on PATH, and no source of " + modulePath + " at or above the working directory nor in the module cache")
}

// declaresModule reports whether the go.mod file at path is this module's.
func declaresModule(path string) bool {
	text, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(text)) {
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == "module" && strings.Trim(fields[1], `"`) == modulePath {
			return true
		}
	}
	return false
}

// moduleCache is the module cache directory as the go command would choose it.
func moduleCache() string {
	if dir := os.Getenv("GOMODCACHE"); dir != "" {
		return dir
	}
	if gopath := filepath.SplitList(os.Getenv("GOPATH")); len(gopath) > 0 && gopath[0] != "" {
		return filepath.Join(gopath[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

// buildEnv is the environment of every function build, local or in Docker, beyond the
// caller's: a static linux/arm64 binary (the functions' architecture), the module's own
// go.mod alone (no workspace), and no version control stamp, so that the same source and
// toolchain always give the same binary, and so the same asset hash.
var buildEnv = map[string]string{
	"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0", "GOWORK": "off", "GOFLAGS": "-buildvcs=false",
}

// buildFlags are the go build flags of every function: those of `make build`, with the
// module's version stamped when it is known.
func buildFlags(version string) []string {
	ldflags := "-s -w"
	if version != "" {
		ldflags += " -X " + modulePath + "/internal/version.Version=" + version
	}
	return []string{"-trimpath", "-tags", "lambda.norpc", "-ldflags", ldflags}
}

// built holds the bootstraps this process built, by source, version and function: a program
// that adds several trackers, or a test that synthesizes many stacks, builds each function
// once. They are kept in memory (five binaries of about 10 MB), so that nothing is left
// behind on disk.
var built = struct {
	sync.Mutex
	bins map[string][]byte
}{bins: map[string][]byte{}}

func builtKey(src source, name string) string { return src.Dir + "\x00" + src.Version + "\x00" + name }

// buildFunctions builds the functions named (functions/<name>) from src with goCmd, those
// this process has not built yet, in one go build.
func buildFunctions(goCmd string, src source, names ...string) error {
	built.Lock()
	defer built.Unlock()
	var pkgs, missing []string
	for _, name := range names {
		if _, ok := built.bins[builtKey(src, name)]; !ok {
			pkgs, missing = append(pkgs, "./functions/"+name), append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	out, err := os.MkdirTemp("", "dynamodb-tracker-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	args := append(append([]string{"build"}, buildFlags(src.Version)...), append([]string{"-o", out + string(filepath.Separator)}, pkgs...)...)
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = src.Dir
	cmd.Env = os.Environ()
	for _, k := range sortedKeys(buildEnv) {
		cmd.Env = append(cmd.Env, k+"="+buildEnv[k])
	}
	if text, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w: %s", src.Dir, err, strings.TrimSpace(string(text)))
	}
	for _, name := range missing {
		bin, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			return err
		}
		built.bins[builtKey(src, name)] = bin
	}
	return nil
}

// bootstrap returns the function's binary built from src, building it if need be.
func bootstrap(goCmd string, src source, name string) ([]byte, error) {
	if err := buildFunctions(goCmd, src, name); err != nil {
		return nil, err
	}
	built.Lock()
	defer built.Unlock()
	return built.bins[builtKey(src, name)], nil
}

// localBuild is a function's CDK local bundling (awscdk.ILocalBundling): it writes the
// function's bootstrap, built with the go command on PATH, into the asset's output
// directory. With no go on PATH it declines, and CDK bundles in Docker instead.
type localBuild struct {
	src  source
	name string
	// lookGo finds the go command; "" declines.
	lookGo func() string
}

// TryBundle writes the bootstrap into outputDir and reports true, or reports false when
// there is no go command. A failed build panics: CDK reports it as the asset's bundling
// error. (New builds every function before it adds any, so its errors are New's.)
func (b *localBuild) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	goCmd := b.lookGo()
	if goCmd == "" {
		return jsii.Bool(false)
	}
	bin, err := bootstrap(goCmd, b.src, b.name)
	if err == nil {
		err = os.WriteFile(filepath.Join(*outputDir, "bootstrap"), bin, 0o755)
	}
	if err != nil {
		panic(fmt.Sprintf("function %s: %v", b.name, err))
	}
	return jsii.Bool(true)
}

// bundledCode is the code of the function name, built from src: locally (localBuild), or
// in Docker (BuildImage) when there is no go command. The asset's hash is the bootstrap's:
// the same source and toolchain give the same hash, and an unchanged function is not
// redeployed.
func bundledCode(src source, name string) awslambda.Code {
	env := map[string]*string{
		// The container runs as the caller's user, with no home directory of its own.
		"HOME": jsii.String("/tmp"), "GOCACHE": jsii.String("/tmp/go-cache"), "GOMODCACHE": jsii.String("/tmp/go-mod"),
		"GOTOOLCHAIN": jsii.String("auto"),
	}
	for k, v := range buildEnv {
		env[k] = jsii.String(v)
	}
	command := append(append([]string{"go", "build"}, buildFlags(src.Version)...), "-o", "/asset-output/bootstrap", "./functions/"+name)
	return awslambda.Code_FromAsset(jsii.String(src.Dir), &awss3assets.AssetOptions{
		AssetHashType: awscdk.AssetHashType_OUTPUT,
		Bundling: &awscdk.BundlingOptions{
			Image:       awscdk.DockerImage_FromRegistry(jsii.String(BuildImage)),
			Command:     jsii.Strings(command...),
			Environment: &env,
			OutputType:  awscdk.BundlingOutput_NOT_ARCHIVED,
			Local:       &localBuild{src: src, name: name, lookGo: lookGo},
		},
	})
}
