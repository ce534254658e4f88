// Package dynamotest runs tests against DynamoDB Local: it starts one server per test binary
// when DYNAMODB_ENDPOINT is not set, hands out clients that cannot reach AWS, gives each test
// a fresh table name that is deleted when the test ends, counts the API calls and the
// capacity a benchmark spends (Counter), and throttles a share of a client's requests as
// DynamoDB does (Faults).
//
// A package's tests use it as
//
//	func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		db := dynamotest.Client(t)
//		table := dynamotest.TableName(t)
//		if err := tracker.CreateTable(ctx, db, table); err != nil { ... }
//	}
//
// Tables are never created here: the caller creates them (tracker.CreateTable, or
// internal/trackertest, which makes a table and a tracker on it), so this package does not
// depend on the code it tests.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
)

// EnvEndpoint names the environment variable holding the DynamoDB Local endpoint, such as
// http://127.0.0.1:8000. Main sets it when it starts a server, so child processes inherit it.
const EnvEndpoint = "DYNAMODB_ENDPOINT"

// Region is the region every Client uses. DynamoDB Local ignores it (the servers run with
// -sharedDb), but the SDK needs one.
const Region = "us-east-1"

// Main runs a test binary's tests against DynamoDB Local and returns the exit code; call it
// from TestMain as os.Exit(dynamotest.Main(m)).
//
// When DYNAMODB_ENDPOINT is set, Main uses that server. Otherwise it installs DynamoDB Local
// with scripts/dynamodb-local.sh (found by walking up from the working directory to go.mod),
// starts it in memory on a free loopback port, waits until it answers, sets DYNAMODB_ENDPOINT
// for the tests and their child processes, runs the tests and stops the server. The server
// also dies with the test binary when a test panics or times out (on Linux, where the kernel
// kills it when its parent exits).
func Main(m *testing.M) int {
	if Endpoint() != "" {
		return m.Run()
	}
	srv, err := startServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dynamotest:", err)
		return 1
	}
	defer srv.stop()
	if err := os.Setenv(EnvEndpoint, srv.endpoint); err != nil {
		fmt.Fprintln(os.Stderr, "dynamotest:", err)
		return 1
	}
	return m.Run()
}

// Endpoint returns the DynamoDB Local endpoint the tests use: the value of DYNAMODB_ENDPOINT,
// empty when none is set and Main has not started one.
func Endpoint() string { return os.Getenv(EnvEndpoint) }

// httpClient is shared by every Client, so that the thousands of clients a test run builds
// reuse connections instead of each keeping its own pool of idle ones.
var httpClient = sync.OnceValue(func() aws.HTTPClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = 64
	})
})

// Client returns a DynamoDB client for Endpoint with static dummy credentials and region
// us-east-1; opts apply last, so they can add middleware (Counter.Option) or change retries.
// It reads no AWS configuration at all, neither ~/.aws nor AWS_* variables, so a developer's
// profile, keys or endpoint settings can neither break the tests nor send them to AWS. It
// fails the test when no endpoint is set.
func Client(tb testing.TB, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	tb.Helper()
	endpoint := Endpoint()
	if endpoint == "" {
		tb.Fatalf("dynamotest: %s is not set: call dynamotest.Main from TestMain, or run the tests with make test", EnvEndpoint)
	}
	// A literal aws.Config rather than config.LoadDefaultConfig: even with no shared files,
	// LoadDefaultConfig fails when AWS_PROFILE names a profile, and obeys variables such as
	// AWS_USE_FIPS_ENDPOINT that break a custom endpoint.
	cfg := aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("dynamotest", "dynamotest", ""),
		HTTPClient:  httpClient(),
	}
	base := func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) }
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){base}, opts...)...)
}

// notInTableName matches the runs of characters a DynamoDB table name cannot hold.
var notInTableName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// maxTableBase keeps room for the random suffix under DynamoDB's 255-character limit.
const maxTableBase = 200

// TableName returns a valid table name unique to this test and this call: the test's name
// with unsupported characters replaced, and a random suffix. It does not create the table;
// when the test ends it deletes the table if the test created it.
func TableName(tb testing.TB) string {
	tb.Helper()
	db := Client(tb)
	base := notInTableName.ReplaceAllString(tb.Name(), "_")
	if len(base) > maxTableBase {
		base = base[:maxTableBase]
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix) // never fails (crypto/rand)
	name := base + "-" + hex.EncodeToString(suffix)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		if _, missing := errors.AsType[*types.ResourceNotFoundException](err); err != nil && !missing {
			tb.Errorf("dynamotest: delete table %s: %v", name, err)
		}
	})
	return name
}

// RepoRoot returns the repository root: the nearest folder at or above the working directory
// (a test's package folder) that holds go.mod.
func RepoRoot() (string, error) { return repo.Root() }
