// Command lambda-local serves the AWS Lambda Invoke API for functions on this machine, the
// equivalent of `sam local start-lambda` without Docker: every function runs under a pool
// of AWS Lambda Runtime Interface Emulators (package internal/lambdalocal).
//
//	go run ./cmd/lambda-local -function claim=build/amd64/claim/bootstrap -function fail=build/amd64/fail/bootstrap
//	go run ./cmd/lambda-local -function words=examples/python -function words-ts=examples/typescript/handler.ts
//
// A function's code is a natively built bootstrap, a Go main package directory (built for
// it), or a Python or Node.js handler (a .py, .js, .mjs, .cjs or .ts file, or a directory
// holding one, optionally followed by :module.function), run by the project's runtime client
// for its language as Lambda's runtimes run them (package internal/runtimes): Python on
// python3, Node.js on -node.
//
// Once it serves, it prints one line, LAMBDA_ENDPOINT=http://127.0.0.1:PORT, on stdout (and
// writes it to -ready-file) for scripts: the endpoint of an AWS SDK client, of
// `aws lambda invoke --endpoint-url` or of aws-local-stepfunctions. Logs, the functions' output
// included, go to stderr. On SIGINT or SIGTERM it stops every process it started and exits 0.
//
// A function's environment is made of the variables of this process that -pass-env names (by
// default TRACKER_*, AWS_ENDPOINT_URL*, the AWS credentials and region, and LOG_LEVEL);
// nothing else of this process's environment reaches the functions. Without AWS credentials they get dummy ones, enough for DynamoDB Local.
// The default -rie is built with the go command from the RIE module this module requires,
// into the user cache directory, so run it from inside the module or give -rie.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/lambdalocal"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/runtimes"
)

const defaultPassEnv = "TRACKER_*,AWS_ENDPOINT_URL*,AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_REGION,AWS_DEFAULT_REGION,LOG_LEVEL"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lambda-local:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		addr      = flag.String("addr", "127.0.0.1:0", "listen address (port 0: a free port)")
		rie       = flag.String("rie", "", "the aws-lambda-rie binary (default: build it into the user cache directory)")
		poolSize  = flag.Int("pool", 1, "RIE processes per function: how many invocations of one function run at once")
		timeout   = flag.Duration("timeout", 30*time.Second, "every function's timeout (whole seconds)")
		passEnv   = flag.String("pass-env", defaultPassEnv, "comma-separated variables of this environment to pass to the functions; NAME* matches a prefix")
		readyFile = flag.String("ready-file", "", "write the LAMBDA_ENDPOINT= line to this file too once serving")
		logLevel  = flag.String("log-level", "info", "debug, info, warn or error (debug shows the RIEs' own logs)")
		node      = flag.String("node", defaultNode(), "the node that runs Node.js handlers (TypeScript needs 22.6 or later)")
		functions []lambdalocal.Function
	)
	flag.Func("function", "`name=PATH`: a bootstrap, a Go package directory or a Python or Node.js handler; repeat for every function", func(v string) error {
		name, path, ok := strings.Cut(v, "=")
		if !ok || name == "" || path == "" {
			return errors.New("want name=PATH")
		}
		functions = append(functions, lambdalocal.Function{Name: name, Bootstrap: path})
		return nil
	})
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if len(functions) == 0 {
		return errors.New("no -function given")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	env := environment(*passEnv, os.Environ())
	for i := range functions {
		functions[i].Env = env
		functions[i].Timeout = *timeout
		functions[i].PoolSize = *poolSize
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// What a Go package is built into, and a handler's bootstrap written to.
	tmp, err := os.MkdirTemp("", "lambda-local-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for i, fn := range functions {
		cfg := runtimes.Config{Dir: filepath.Join(tmp, fn.Name), Node: *node}
		if functions[i].Bootstrap, err = runtimes.Bootstrap(ctx, fn.Bootstrap, cfg); err != nil {
			return fmt.Errorf("function %s: %w", fn.Name, err)
		}
	}
	srv, err := lambdalocal.Start(ctx, lambdalocal.Config{
		Addr:      *addr,
		RIE:       *rie,
		Region:    cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")),
		Functions: functions,
		Logger:    logger,
	})
	if err != nil {
		return err
	}
	line := "LAMBDA_ENDPOINT=" + srv.URL() + "\n"
	if *readyFile != "" {
		if err := writeAtomic(*readyFile, line); err != nil {
			srv.Close()
			return err
		}
		defer os.Remove(*readyFile)
	}
	fmt.Print(line)

	<-ctx.Done()
	logger.Info("stopping")
	return srv.Close()
}

// defaultNode is the Node.js 22 that `make deps` installs, when lambda-local runs in the
// checkout, else node on PATH.
func defaultNode() string {
	if root, err := repo.Root(); err == nil {
		pinned := repo.Node(root)
		if _, err := os.Stat(pinned); err == nil {
			return pinned
		}
	}
	return "node"
}

// environment returns the variables of environ whose names match one of the comma-separated
// patterns: a name, or a prefix followed by '*'.
func environment(patterns string, environ []string) map[string]string {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		for _, p := range strings.Split(patterns, ",") {
			p = strings.TrimSpace(p)
			prefix, isPrefix := strings.CutSuffix(p, "*")
			if isPrefix && strings.HasPrefix(k, prefix) || !isPrefix && p != "" && k == p {
				env[k] = v
				break
			}
		}
	}
	return env
}

// writeAtomic writes content to path through a rename, so a reader never sees half of it.
func writeAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lambda-local-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
