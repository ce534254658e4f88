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
	// Every step of a job that got past decoding records its duration; a claim records
	// claimed, a refusal refused.
	claimed := []fntest.Metric{{Metric: lambdafn.Claimed, Value: 1}, {Metric: lambdafn.Duration}}
	refused := []fntest.Metric{{Metric: lambdafn.Refused, Value: 1}, {Metric: lambdafn.Duration}}
	fntest.Run(t, "claim", func(deps lambdafn.Deps) fntest.Handle {
		h := handler{deps}
		return func(ctx context.Context, event json.RawMessage) (any, error) { return h.Handle(ctx, event) }
	}, map[string][]fntest.Metric{
		"ok.json": claimed, "expired-lease.json": claimed,
		"locked.json": refused, "succeeded.json": refused, "ignored.json": refused, "not-found.json": refused,
		"invalid-separator.json": {{Metric: lambdafn.Duration}},
	})
}
