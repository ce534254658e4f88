package construct

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// fakeDocker stands in for the docker command CDK runs when local bundling declines (CDK
// reads its path from CDK_DOCKER): it appends its arguments, one JSON array a line, to
// docker.log beside it, and writes a bootstrap into the directory mounted at /asset-output,
// as the real build would.
const fakeDocker = `#!/bin/sh
dir=$(dirname "$0")
node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@" >> "$dir/docker.log"
while [ $# -gt 0 ]; do
	case "$2" in *:/asset-output:*) out=${2%%:/asset-output:*} ;; esac
	shift
done
printf 'built in docker\n' > "$out/bootstrap"
`

// dockerDir holds fakeDocker and its log.
var dockerDir string

func TestMain(m *testing.M) {
	var err error
	if dockerDir, err = os.MkdirTemp("", "fake-docker-"); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dockerDir, "docker"), []byte(fakeDocker), 0o755); err != nil {
		panic(err)
	}
	// The kernel (Node.js) reads its environment when it starts: the CDK packages started
	// it at init, registering their types; closing it before its first use makes the next
	// call start one that sees this.
	os.Setenv("CDK_DOCKER", filepath.Join(dockerDir, "docker"))
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	jsii.Close()
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dockerDir)
	os.Exit(code)
}

// repoRoot is the clone the tests run in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestFindSourceInTheClone(t *testing.T) {
	want := source{Dir: repoRoot(t)}
	if modulePath != "github.com/dynamodb-tracker/dynamodb-tracker" {
		t.Errorf("modulePath = %q", modulePath)
	}
	for _, c := range []struct {
		name  string
		goCmd string
	}{{"go list -m", lookGo()}, {"without go, the go.mod above", ""}} {
		t.Run(c.name, func(t *testing.T) {
			if got, err := findSource(c.goCmd); err != nil || got != want {
				t.Errorf("findSource = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}

func TestBuildFlags(t *testing.T) {
	for _, c := range []struct {
		version string
		want    []string
	}{
		{"", []string{"-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w"}},
		{"v0.1.0", []string{"-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w -X github.com/dynamodb-tracker/dynamodb-tracker/internal/version.Version=v0.1.0"}},
	} {
		if got := buildFlags(c.version); !reflect.DeepEqual(got, c.want) {
			t.Errorf("buildFlags(%q) = %q, want %q", c.version, got, c.want)
		}
	}
}

func TestLocalBuildDeclinesWithoutGo(t *testing.T) {
	out := t.TempDir()
	b := &localBuild{src: source{Dir: repoRoot(t)}, name: Claim, lookGo: func() string { return "" }}
	if got := b.TryBundle(jsii.String(out), nil); *got {
		t.Errorf("TryBundle = true with no go command")
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("TryBundle wrote %d files", len(entries))
	}
}

// synthesized adds a tracker with props to a stack of its own and synthesizes it into a
// temporary directory; it returns the directory and the template.
func synthesized(t *testing.T, props *Props) (string, map[string]any) {
	t.Helper()
	outdir := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	stack := awscdk.NewStack(app, jsii.String("Built"), nil)
	if _, err := New(stack, "Tracker", props); err != nil {
		t.Fatal(err)
	}
	var template map[string]any
	raw, _ := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
	if err := json.Unmarshal(raw, &template); err != nil {
		t.Fatal(err)
	}
	app.Synth(nil)
	return outdir, template
}

// bootstraps returns each function's bootstrap as the cloud assembly in outdir holds it, by
// function name, from the functions' asset keys.
func bootstraps(t *testing.T, outdir string, template map[string]any) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for id, r := range template["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] != "AWS::Lambda::Function" {
			continue
		}
		props := r["Properties"].(map[string]any)
		name := ""
		for _, f := range deployedFunctions(&Props{}) {
			if strings.HasPrefix(id, "Tracker"+f.id) {
				name = f.Name
			}
		}
		key := props["Code"].(map[string]any)["S3Key"].(string)
		bin, err := os.ReadFile(filepath.Join(outdir, "asset."+strings.TrimSuffix(key, ".zip"), "bootstrap"))
		if err != nil {
			t.Fatalf("function %s (%s): %v", id, name, err)
		}
		out[name] = bin
	}
	return out
}

// TestBuildsTheFunctions: with no AssetDir the construct builds each function from the
// module's source with the go command, as `make build` does, and deploys exactly that binary.
func TestBuildsTheFunctions(t *testing.T) {
	outdir, template := synthesized(t, &Props{})
	bins := bootstraps(t, outdir, template)
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range bins {
			if !yield(name) {
				return
			}
		}
	})
	if want := []string{Claim, Complete, ExampleWorker, Fail, ListPending}; !slices.Equal(names, want) {
		t.Fatalf("functions %v, want %v", names, want)
	}
	for name, bin := range bins {
		t.Run(name, func(t *testing.T) {
			f, err := elf.NewFile(bytes.NewReader(bin))
			if err != nil {
				t.Fatalf("not an ELF binary: %v", err)
			}
			if f.Machine != elf.EM_AARCH64 || slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP }) {
				t.Errorf("machine %v, interpreter %v: want a static arm64 binary", f.Machine, f.Progs)
			}
			// -ldflags "-s -w": no symbol table, no DWARF.
			if f.Section(".symtab") != nil || f.Section(".debug_info") != nil {
				t.Errorf("the binary is not stripped")
			}
			info, err := buildinfo.Read(bytes.NewReader(bin))
			if err != nil {
				t.Fatal(err)
			}
			settings := map[string]string{}
			for _, s := range info.Settings {
				settings[s.Key] = s.Value
			}
			// -trimpath leaves -ldflags out of the build information; no vcs.* settings: the
			// binary does not change with the clone's state.
			want := map[string]string{"-buildmode": "exe", "-compiler": "gc", "-trimpath": "true", "-tags": "lambda.norpc",
				"CGO_ENABLED": "0", "GOARCH": "arm64", "GOOS": "linux", "GOARM64": "v8.0"}
			if info.Path != modulePath+"/functions/"+name || !reflect.DeepEqual(settings, want) {
				t.Errorf("built as %s with %v, want %s with %v", info.Path, settings, modulePath+"/functions/"+name, want)
			}
			if cached := built.bins[builtKey(source{Dir: repoRoot(t)}, name)]; !bytes.Equal(bin, cached) {
				t.Errorf("the asset is not the binary the construct built")
			}
		})
	}
	// A second tracker, in another app, takes the same binaries: the same asset hashes.
	_, again := synthesized(t, &Props{})
	for id, r := range again["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] != "AWS::Lambda::Function" {
			continue
		}
		first := template["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)["Code"]
		if second := r.(map[string]any)["Properties"].(map[string]any)["Code"]; !reflect.DeepEqual(first, second) {
			t.Errorf("%s: code %v, then %v", id, first, second)
		}
	}
}

// TestBuildsInDockerWithoutGo: with no go command on PATH, CDK builds each function in
// Docker, from the module's source, with the same flags; a stand-in for docker records how it
// is run.
func TestBuildsInDockerWithoutGo(t *testing.T) {
	t.Setenv("PATH", "") // no go; CDK (Node.js) still finds its stand-in through CDK_DOCKER
	os.Remove(filepath.Join(dockerDir, "docker.log"))
	outdir, template := synthesized(t, &Props{})
	for name, bin := range bootstraps(t, outdir, template) {
		if string(bin) != "built in docker\n" {
			t.Errorf("%s: the bootstrap is not the one built in Docker: %.40q", name, bin)
		}
	}
	text, err := os.ReadFile(filepath.Join(dockerDir, "docker.log"))
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for line := range strings.Lines(string(text)) {
		var args []string
		if err := json.Unmarshal([]byte(line), &args); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, dockerRun(t, args))
	}
	slices.Sort(runs)
	var want []string
	for _, name := range []string{Claim, Complete, ExampleWorker, Fail, ListPending} {
		want = append(want, fmt.Sprintf("run --rm -u %d:%d -v %s:/asset-input:delegated -v OUT:/asset-output:delegated "+
			"--env CGO_ENABLED=0 --env GOARCH=arm64 --env GOCACHE=/tmp/go-cache --env GOFLAGS=-buildvcs=false --env GOMODCACHE=/tmp/go-mod "+
			"--env GOOS=linux --env GOTOOLCHAIN=auto --env GOWORK=off --env HOME=/tmp -w /asset-input "+
			"public.ecr.aws/docker/library/golang:1.26 go build -trimpath -tags lambda.norpc -ldflags '-s -w' -o /asset-output/bootstrap ./functions/%s",
			os.Getuid(), os.Getgid(), repoRoot(t), name))
	}
	if !slices.Equal(runs, want) {
		t.Errorf("docker ran\n\t%s\nwant\n\t%s", strings.Join(runs, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// dockerRun is docker's arguments as one line, the output directory (a temporary one) as
// OUT, the --env options in order, and an argument holding a space quoted.
func dockerRun(t *testing.T, args []string) string {
	t.Helper()
	var envs, rest []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--env" && i+1 < len(args):
			envs = append(envs, "--env "+args[i+1])
			i++
		case strings.HasSuffix(args[i], ":/asset-output:delegated"):
			rest = append(rest, "OUT:/asset-output:delegated")
		case strings.Contains(args[i], " "):
			rest = append(rest, "'"+args[i]+"'")
		default:
			rest = append(rest, args[i])
		}
	}
	slices.Sort(envs)
	at := slices.Index(rest, "-w")
	if at < 0 {
		t.Fatalf("no -w in %q", args)
	}
	return strings.Join(slices.Concat(rest[:at], envs, rest[at:]), " ")
}

// TestNoSourceIsNewsError: the construct that finds no source to build says so, and adds
// nothing.
func TestNoSourceIsNewsError(t *testing.T) {
	for _, c := range []struct {
		name, path, want string
	}{
		{"with go, outside any module", os.Getenv("PATH"), "go list -m -json " + modulePath},
		{"without go, outside the clone", "", "no go command on PATH, and no source of " + modulePath},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			t.Setenv("PATH", c.path)
			stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Nowhere"), nil)
			_, err := New(stack, "Tracker", &Props{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "set Props.AssetDir") {
				t.Errorf("New: %v, want an error with %q", err, c.want)
			}
			if n := len(*stack.Node().Children()); n != 0 {
				t.Errorf("New added %d constructs before it failed", n)
			}
		})
	}
}
