// Package functions_test invokes the built function binaries the way `sam local invoke`
// does: under the AWS Lambda Runtime Interface Emulator, through the real Lambda Invoke API
// (internal/lambdalocal), against DynamoDB Local.
package functions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/fixtures"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/lambdalocal"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// functions are the binaries under test.
var functions = localstack.Functions

// stack is the local Lambda endpoint over freshly built binaries, shared by the tests.
var stack struct {
	once    sync.Once
	err     error
	server  *lambdalocal.Server
	bins    string
	table   string
	workLog string
}

func TestMain(m *testing.M) {
	code := dynamotest.Main(m)
	if stack.server != nil {
		stack.server.Close()
	}
	if stack.bins != "" {
		os.RemoveAll(stack.bins)
	}
	os.Exit(code)
}

// startStack builds the bootstraps, creates the table and starts the endpoint, once.
func startStack(t testing.TB) {
	t.Helper()
	stack.once.Do(func() {
		root, err := dynamotest.RepoRoot()
		if err != nil {
			stack.err = err
			return
		}
		stack.bins, err = os.MkdirTemp("", "functions-test-")
		if err != nil {
			stack.err = err
			return
		}
		if stack.err = localstack.Build(context.Background(), root, stack.bins, runtime.GOARCH); stack.err != nil {
			return
		}
		stack.table = fmt.Sprintf("functions-test-%d", time.Now().UnixNano())
		db := dynamotest.Client(t)
		if stack.err = tracker.CreateTable(context.Background(), db, stack.table); stack.err != nil {
			return
		}
		stack.workLog = filepath.Join(stack.bins, "worker.jsonl")
		env := contract.Settings{Table: stack.table}.Env()
		env["AWS_ENDPOINT_URL_DYNAMODB"] = dynamotest.Endpoint()
		env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "local", "local"
		env["EXAMPLE_WORKER_LOG"] = stack.workLog
		cfg := lambdalocal.Config{}
		for _, fn := range functions {
			cfg.Functions = append(cfg.Functions, lambdalocal.Function{
				Name: fn, Bootstrap: filepath.Join(stack.bins, fn, "bootstrap"), Env: env, Timeout: 10 * time.Second, PoolSize: 2,
			})
		}
		stack.server, stack.err = lambdalocal.Start(context.Background(), cfg)
	})
	if stack.err != nil {
		t.Fatal(stack.err)
	}
}

func lambdaClient(t testing.TB) *lambda.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		t.Fatal(err)
	}
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(stack.server.URL()) })
}

// scan returns every item of the table, to tell whether an invocation wrote anything.
func scan(t *testing.T, db *dynamodb.Client) []map[string]any {
	t.Helper()
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(stack.table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	items := make([]map[string]any, len(out.Items))
	for i, it := range out.Items {
		raw, _ := json.Marshal(it)
		_ = json.Unmarshal(raw, &items[i])
	}
	return items
}

// TestFixtures invokes every event fixture on the built binaries through the Lambda API and
// checks the response, the function-error flag, the errorType and the table.
func TestFixtures(t *testing.T) {
	startStack(t)
	ctx := context.Background()
	root, _ := dynamotest.RepoRoot()
	client := lambdaClient(t)
	db := dynamotest.Client(t)
	tr, err := tracker.New(db, tracker.Config{Table: stack.table})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fixtures.Cases {
		t.Run(c.Name(), func(t *testing.T) {
			if err := fixtures.Seed(ctx, db, stack.table, time.Now()); err != nil {
				t.Fatal(err)
			}
			event, err := c.Read(root)
			if err != nil {
				t.Fatal(err)
			}
			before := scan(t, db)
			out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(c.Function), Payload: event})
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if c.ErrorType != "" {
				var body struct{ ErrorType, ErrorMessage string }
				_ = json.Unmarshal(out.Payload, &body)
				if aws.ToString(out.FunctionError) != "Unhandled" || body.ErrorType != c.ErrorType || body.ErrorMessage == "" {
					t.Fatalf("function error %q, payload %s; want errorType %s", aws.ToString(out.FunctionError), out.Payload, c.ErrorType)
				}
				if c.Function != "example-worker" && !reflect.DeepEqual(before, scan(t, db)) {
					t.Errorf("a refused %s wrote to the table", c.Function)
				}
				return
			}
			if out.FunctionError != nil {
				t.Fatalf("function error %s: %s", *out.FunctionError, out.Payload)
			}
			if err := c.Check(out.Payload); err != nil {
				t.Fatal(err)
			}
			checkStored(t, ctx, tr, c, out.Payload)
		})
	}
}

// checkStored checks the task a successful transition wrote.
func checkStored(t *testing.T, ctx context.Context, tr *tracker.Tracker, c fixtures.Case, result []byte) {
	var res struct {
		TaskID string `json:"task_id"`
		Status string `json:"status"`
		// a loop's claim (next) holds the claimed task under claim; a lane's start none
		Claim *struct {
			TaskID string `json:"task_id"`
		} `json:"claim"`
	}
	_ = json.Unmarshal(result, &res)
	if res.Claim != nil {
		res.TaskID = res.Claim.TaskID
	}
	want := map[string]string{"claim": "in_progress", "complete": "succeeded", "fail": res.Status}[c.Function]
	if want == "" || res.TaskID == "" {
		return
	}
	task, err := tr.Get(ctx, fixtures.Job, res.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status.String() != want {
		t.Errorf("stored status %s, want %s", task.Status, want)
	}
	switch c.Function {
	case "claim":
		if !strings.Contains(task.LockOwner, "execution:tracker-run:") || task.Lock == "" {
			t.Errorf("claim stored owner %q, lock %q", task.LockOwner, task.Lock)
		}
	case "fail":
		if c.Event == "release.json" {
			if task.Error != nil || task.Lock != "" || task.Retry != 0 {
				t.Errorf("release stored %+v: the task must go back uncounted", task)
			}
		} else if task.Error == nil || task.Lock != "" {
			t.Errorf("fail stored %+v", task)
		} else if c.Event == "ok.json" && (task.Error.Error != "WorkerError: task t-fail failed on purpose (attempt 1, retry 0)" ||
			task.Error.Traceback != "github.com/acme/worker/main.go:42 work") {
			t.Errorf("fail stored error %+v", task.Error)
		}
	}
}

// TestConcurrentClaims sends 12 claims of the same task at once to a pool of 2 emulators:
// exactly one wins, the others are TaskLocked, and the endpoint survives.
func TestConcurrentClaims(t *testing.T) {
	startStack(t)
	ctx := context.Background()
	db := dynamotest.Client(t)
	tr, _ := tracker.New(db, tracker.Config{Table: stack.table})
	id := fmt.Sprint("race-", time.Now().UnixNano())
	if _, err := tr.CreateTask(ctx, "race-job", id, nil); err != nil {
		t.Fatal(err)
	}
	client := lambdaClient(t)
	var wg sync.WaitGroup
	results := make([]string, 12)
	for i := range results {
		wg.Go(func() {
			payload := fmt.Sprintf(`{"job_id":"race-job","task_id":%q,"execution_id":"exec-%d"}`, id, i)
			out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("claim"), Payload: []byte(payload)})
			switch {
			case err != nil:
				results[i] = "invoke error: " + err.Error()
			case out.FunctionError != nil:
				var body struct{ ErrorType string }
				_ = json.Unmarshal(out.Payload, &body)
				results[i] = body.ErrorType
			default:
				results[i] = "claimed"
			}
		})
	}
	wg.Wait()
	counts := map[string]int{}
	for _, r := range results {
		counts[r]++
	}
	if counts["claimed"] != 1 || counts["TaskLocked"] != len(results)-1 {
		t.Errorf("outcomes %v, want 1 claimed and %d TaskLocked", counts, len(results)-1)
	}
}

// TestUnknownFunction gets the Lambda API's ResourceNotFoundException, as from AWS.
func TestUnknownFunction(t *testing.T) {
	startStack(t)
	_, err := lambdaClient(t).Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("no-such-fn"), Payload: []byte(`{}`)})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("error = %v, want ResourceNotFoundException", err)
	}
}
