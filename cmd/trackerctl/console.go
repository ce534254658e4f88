package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dynamodb-tracker/dynamodb-tracker/console"
)

// defaultListen is where the console listens unless told: this machine only.
const defaultListen = "127.0.0.1:8080"

func consoleCommand() *command {
	var (
		listen, arn, sfnEndpoint string
		allowWrites              bool
		refresh                  = 5 * time.Second
	)
	return &command{
		name:    "console",
		summary: "serve the web console: jobs, progress, error groups and tasks, with retry and ignore",
		help: `Serve the web console over the table at --listen (default ` + defaultListen + `: this machine
only) until interrupted, and print its address. The console shows every job of the registry with
its progress, a job's status mix over time (while its page is open), its error groups and its
tasks a page at a time, and a task whole (data, error, traceback, attempt history, lease).

It is read-only unless started with --allow-writes. Then it retries or ignores selected tasks, a
whole status or a whole error group, and starts runs; each action shows what it would touch
first and asks for confirmation. A status or a group is changed by a bulk action, as retry
--fingerprint runs it: an execution of the state machine (--state-machine-arn), or in this
process against DynamoDB Local (a loopback --endpoint). Writes are refused from other sites
(the form carries a token, and the browser's Sec-Fetch-Site or Origin must be the console's).

The console has no login: anyone who can reach --listen can read the table, and change it
under --allow-writes. Listen on a loopback address, and reach it from elsewhere through an SSH
tunnel.`,
		nArg: [2]int{0, 0},
		flags: func(fs *flagSet) {
			fs.StringVar(&listen, "listen", defaultListen, "serve on this `address` (host:port; port 0 picks a free one)")
			fs.BoolVar(&allowWrites, "allow-writes", false, "let the console retry, ignore and run tasks (read-only without it)")
			fs.StringVar(&arn, "state-machine-arn", "", "start runs and bulk actions as executions of the state machine of this `ARN`")
			fs.env["state-machine-arn"] = envStateMachine
			fs.StringVar(&sfnEndpoint, "sfn-endpoint", "", "Step Functions endpoint `URL`")
			fs.env["sfn-endpoint"] = envSFNEndpoint
			fs.Var(seconds{&refresh}, "refresh", "`seconds` (or a duration like 1m) between refreshes of an open page's counts")
		},
		run: func(ctx context.Context, a *app, _ []string) error {
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			cfg := console.Config{Tracker: tr, AllowWrites: allowWrites, Refresh: refresh, Now: a.now,
				Where:  fmt.Sprintf("table %s %s", a.opts.table, a.where()),
				Logger: slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
			if arn == "" {
				arn = a.getenv(envStateMachine)
			}
			if sfnEndpoint == "" {
				sfnEndpoint = a.getenv(envSFNEndpoint)
			}
			if arn != "" {
				awsCfg, err := a.awsConfig(ctx, sfnEndpoint)
				if err != nil {
					return err
				}
				client := sfn.NewFromConfig(awsCfg, func(o *sfn.Options) {
					if sfnEndpoint != "" {
						o.BaseEndpoint = aws.String(sfnEndpoint)
					}
				})
				cfg.Runner = console.StepFunctions{Client: client, StateMachineARN: arn, Tracker: tr, Now: a.now}
			} else {
				cfg.BulkHere = isLoopback(a.opts.endpoint)
			}
			return a.serveConsole(ctx, cfg, listen)
		},
	}
}

// serveConsole serves the console on listen until ctx ends.
func (a *app) serveConsole(ctx context.Context, cfg console.Config, listen string) error {
	srv, err := console.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return usagef("--listen %s: %v", listen, err)
	}
	mode := "read-only"
	if cfg.AllowWrites {
		mode = "writes allowed"
	}
	if a.opts.json {
		if err := printJSON(a.stdout, struct {
			URL string `json:"url"`
		}{console.URL(ln.Addr())}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.stdout, console.URL(ln.Addr()))
	}
	fmt.Fprintf(a.stderr, "console: %s, %s; interrupt (Ctrl-C) to stop\n", cfg.Where, mode)
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintf(a.stderr, "console: warning: listening on %s, beyond this machine: the console has no login\n", ln.Addr())
	}
	err = srv.Serve(ctx, ln)
	if ctx.Err() != nil {
		return nil // interrupted: the console's normal end
	}
	return err
}
