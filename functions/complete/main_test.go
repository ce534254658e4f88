package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/fntest"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestFixtures(t *testing.T) {
	// Every step of a job that got past decoding records its duration; a completion
	// records succeeded, a refusal refused.
	duration := fntest.Metric{Metric: lambdafn.Duration}
	fntest.Run(t, "complete", func(deps lambdafn.Deps) fntest.Handle {
		h := handler{deps}
		return func(ctx context.Context, event json.RawMessage) (any, error) { return h.Handle(ctx, event) }
	}, map[string][]fntest.Metric{
		"ok.json":             {{Metric: lambdafn.Succeeded, Value: 1}, duration},
		"stale-lease.json":    {{Metric: lambdafn.Refused, Value: 1}, duration},
		"invalid-result.json": {duration},
	})
}
