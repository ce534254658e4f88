// Package dynamotest runs tests against AWS DynamoDB Local: it starts one for a test binary
// when DYNAMODB_ENDPOINT is not set, hands out clients and a fresh table name per test, and
// counts the API calls and capacity a benchmark spends.
package dynamotest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// EnvEndpoint names the variable that points tests at a running DynamoDB Local.
const EnvEndpoint = "DYNAMODB_ENDPOINT"

// Main runs a package's tests (call it from TestMain: os.Exit(dynamotest.Main(m))). When
// DYNAMODB_ENDPOINT is unset it starts DynamoDB Local with scripts/dynamodb-local.sh,
// exports the variable for the tests and their child processes, and stops it afterwards.
func Main(m *testing.M) int {
	if os.Getenv(EnvEndpoint) != "" {
		return m.Run()
	}
	root, err := RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dynamotest:", err)
		return 1
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "dynamodb-local.sh"), "start")
	cmd.Stderr = os.Stderr
	// Let the java process outlive the script, in its own group so we can end it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dynamotest: start DynamoDB Local:", err)
		return 1
	}
	vars := map[string]string{}
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
	pid := vars["DYNAMODB_PID"]
	defer func() {
		stop := exec.Command(filepath.Join(root, "scripts", "dynamodb-local.sh"), "stop", pid)
		stop.Stderr = os.Stderr
		_ = stop.Run()
	}()
	os.Setenv(EnvEndpoint, vars[EnvEndpoint])
	return m.Run()
}

// Endpoint returns the DynamoDB Local endpoint the tests use.
func Endpoint() string { return os.Getenv(EnvEndpoint) }

// Client returns a DynamoDB client for DynamoDB Local with dummy credentials, reading no
// shared AWS configuration, so a developer's ~/.aws cannot interfere.
func Client(tb testing.TB, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	tb.Helper()
	endpoint := Endpoint()
	if endpoint == "" {
		tb.Fatalf("%s is not set: run the tests with make test, or call dynamotest.Main from TestMain", EnvEndpoint)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		tb.Fatal(err)
	}
	opts = append([]func(*dynamodb.Options){func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) }}, opts...)
	return dynamodb.NewFromConfig(cfg, opts...)
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// TableName returns a table name unique to this test and deletes the table, if it was
// created, when the test ends.
func TableName(tb testing.TB) string {
	tb.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	base := unsafe.ReplaceAllString(tb.Name(), "-")
	if len(base) > 200 {
		base = base[:200]
	}
	name := base + "-" + hex.EncodeToString(suffix)
	db := Client(tb)
	tb.Cleanup(func() {
		_, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		var missing *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &missing) {
			tb.Errorf("delete table %s: %v", name, err)
		}
	})
	return name
}

// RepoRoot returns the repository root: the nearest folder above the working directory
// that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
