package functions_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/lambdalocal"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// BenchmarkBinarySize reports each function's deployable size: linux/arm64, stripped.
func BenchmarkBinarySize(b *testing.B) {
	root, _ := dynamotest.RepoRoot()
	dir := b.TempDir()
	if err := localstack.Build(context.Background(), root, dir, "arm64"); err != nil {
		b.Fatal(err)
	}
	for _, fn := range functions {
		b.Run(fn, func(b *testing.B) {
			st, err := os.Stat(filepath.Join(dir, fn, "bootstrap"))
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
			}
			b.ReportMetric(float64(st.Size())/(1<<20), "MB")
		})
	}
}

// BenchmarkColdStart measures a cold start of list-pending under the emulator: from starting
// the emulator process to the first response.
func BenchmarkColdStart(b *testing.B) {
	startStack(b)
	var times []time.Duration
	for range b.N {
		start := time.Now()
		srv, err := lambdalocal.Start(context.Background(), lambdalocal.Config{Functions: []lambdalocal.Function{{
			Name: "list-pending", Bootstrap: filepath.Join(stack.bins, "list-pending", "bootstrap"),
			Env: map[string]string{"TRACKER_TABLE": stack.table, "AWS_ENDPOINT_URL_DYNAMODB": dynamotest.Endpoint(),
				"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"},
		}}})
		if err != nil {
			b.Fatal(err)
		}
		client := lambda.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: lambdaClient(b).Options().Credentials},
			func(o *lambda.Options) { o.BaseEndpoint = aws.String(srv.URL()) })
		out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("list-pending"), Payload: []byte(`{"job_id":"cold"}`)})
		times = append(times, time.Since(start))
		srv.Close()
		if err != nil || out.FunctionError != nil {
			b.Fatalf("invoke: %v %s", err, out.Payload)
		}
	}
	b.ReportMetric(median(times), "median-ms")
}

// BenchmarkWarmInvoke measures warm invocations through the local Lambda API: the example
// worker (no DynamoDB call: the runtime, emulator and HTTP overhead alone), and claim
// refused with TaskNotFound next to the same tracker call made in-process, whose difference
// is the Lambda overhead beyond the DynamoDB call.
func BenchmarkWarmInvoke(b *testing.B) {
	startStack(b)
	ctx := context.Background()
	client := lambdaClient(b)
	worker := []byte(`{"job_id":"j","task_id":"t","data":{},"attempt":1,"lease":{"job_id":"j","task_id":"t","token":"00000000000000000000000000000000","retry":0,"expires":"2026-01-01T00:00:00Z"}}`)
	claim := []byte(`{"job_id":"bench","task_id":"missing","execution_id":"bench"}`)
	invoke := func(fn string, payload []byte, wantErr bool) func() error {
		return func() error {
			out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: payload})
			if err == nil && (out.FunctionError != nil) != wantErr {
				err = fmt.Errorf("unexpected result %s", out.Payload)
			}
			return err
		}
	}
	tr, _ := tracker.New(dynamotest.Client(b), tracker.Config{Table: stack.table})
	for _, bc := range []struct {
		name string
		call func() error
	}{
		{"example-worker", invoke("example-worker", worker, false)},
		{"example-worker-error", invoke("example-worker", []byte(strings.Replace(string(worker), `"data":{}`, `"data":{"always_fail":true}`, 1)), true)},
		{"claim-not-found", invoke("claim", claim, true)},
		{"in-process-claim-not-found", func() error {
			_, err := tr.Claim(ctx, "bench", "missing", "bench")
			if err == nil {
				return fmt.Errorf("claimed a missing task")
			}
			return nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range 50 { // warm every emulator of the pool, and DynamoDB Local's JIT
				if err := bc.call(); err != nil {
					b.Fatal(err)
				}
			}
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := bc.call(); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			b.ReportMetric(median(times), "median-ms")
		})
	}
}

func median(ts []time.Duration) float64 {
	slices.Sort(ts)
	return float64(ts[len(ts)/2].Microseconds()) / 1000
}
