// Command example-worker is the example worker Lambda function (handler.Worker): it succeeds
// or fails as the task's data asks, and with EXAMPLE_WORKER_LOG set records each invocation.
package main

import (
	"log/slog"
	"os"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/handler"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
)

func main() {
	w := &handler.Worker{LogFile: os.Getenv("EXAMPLE_WORKER_LOG"), Log: lambdafn.NewLogger(slog.LevelInfo)}
	lambdafn.Start(w.Handle)
}
