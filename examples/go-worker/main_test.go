package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
)

// TestHandleFixtures runs the handler on every fixture of ../fixtures, the cases the Python
// and TypeScript handlers answer too, and compares its answer with the fixture's.
func TestHandleFixtures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "fixtures", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var fx struct {
				Input  contract.ClaimOutput
				Output json.RawMessage
				Error  *contract.LambdaError
			}
			if err := json.Unmarshal(raw, &fx); err != nil {
				t.Fatal(err)
			}
			res, err := handle(context.Background(), fx.Input)
			if fx.Error != nil {
				var le messages.InvokeResponse_Error
				if !errors.As(err, &le) || le.Type != fx.Error.ErrorType || le.Message != fx.Error.ErrorMessage {
					t.Fatalf("handle = %+v, %v; want the error %+v", res, err, *fx.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(res)
			var g, w any
			json.Unmarshal(got, &g)
			json.Unmarshal(fx.Output, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("handle = %s, want %s", got, fx.Output)
			}
		})
	}
}
