// Command runlocal runs one state machine execution on the local stack and prints its result:
// the input (the state machine's input JSON) comes on stdin, the tasks are in the DynamoDB
// Local table that TRACKER_TABLE and AWS_ENDPOINT_URL_DYNAMODB name, and the output is the
// execution's {"status", "output"} line from sfnlocal/run.mjs. It is `trackerctl run
// --local`'s runner (through sfnlocal/run-job.sh); it exits 1 when the execution fails.
// TRACKER_LOCAL_WORKER, when set, is the worker to run instead of example-worker: a built
// bootstrap or a Go package directory (localstack.Config.Worker).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
)

func main() {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "runlocal:", err)
	}
	os.Exit(code)
}

func run() (int, error) {
	table, endpoint := os.Getenv("TRACKER_TABLE"), os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	if table == "" || endpoint == "" {
		return 2, fmt.Errorf("TRACKER_TABLE and AWS_ENDPOINT_URL_DYNAMODB must name the local table and endpoint")
	}
	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		return 2, err
	}
	var input map[string]any
	if err := json.Unmarshal(raw, &input); err != nil {
		return 2, fmt.Errorf("the input on stdin is not a JSON object: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := repo.Root()
	if err != nil {
		return 1, err
	}
	env := map[string]string{}
	for _, k := range []string{"TRACKER_STATUS_CODES", "TRACKER_MAX_RETRY", "TRACKER_LEASE_SECONDS"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	stack, err := localstack.Start(ctx, localstack.Config{Root: root, Table: table, DynamoEndpoint: endpoint, Pool: 10, Env: env,
		Worker: os.Getenv("TRACKER_LOCAL_WORKER")})
	if err != nil {
		return 1, err
	}
	defer stack.Close()
	ex, err := stack.Run(ctx, input, localstack.RunOptions{})
	if err != nil {
		return 1, err
	}
	line, _ := json.Marshal(ex)
	fmt.Println(string(line))
	if ex.Status != "SUCCEEDED" {
		return 1, nil
	}
	return 0, nil
}
