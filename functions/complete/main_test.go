package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/fntest"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestFixtures(t *testing.T) {
	fntest.Run(t, "complete", func(tr *tracker.Tracker, log *slog.Logger) fntest.Handle {
		h := handler{lambdafn.Deps{Tracker: tr, Log: log}}
		return func(ctx context.Context, event json.RawMessage) (any, error) { return h.Handle(ctx, event) }
	})
}
