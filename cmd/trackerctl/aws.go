package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/logging"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// awsConfig loads the AWS configuration for the common flags. Credentials come from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when set, else from the profile and the SDK's
// default chain; against a loopback endpoint (DynamoDB Local) without either, fixed dummy
// credentials are used, since DynamoDB Local checks none.
func (a *app) awsConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	var lo []func(*config.LoadOptions) error
	region := a.opts.region
	local := isLoopback(endpoint)
	if region == "" && local && a.opts.profile == "" {
		region = "us-east-1"
	}
	if region != "" {
		lo = append(lo, config.WithRegion(region))
	}
	if a.opts.profile != "" {
		lo = append(lo, config.WithSharedConfigProfile(a.opts.profile))
	}
	id, secret := a.getenv("AWS_ACCESS_KEY_ID"), a.getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		lo = append(lo, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, secret, a.getenv("AWS_SESSION_TOKEN"))))
	case local && a.opts.profile == "":
		lo = append(lo, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	// The SDK's own warnings (DynamoDB Local's error responses fail its checksum check) would
	// break the one-line error contract; errors reach the operator through explain.
	lo = append(lo, config.WithLogger(logging.Nop{}))
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return cfg, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return cfg, usagef("no AWS region: pass --region or set %s (or use a profile that sets one)", envRegion)
	}
	return cfg, nil
}

// isLoopback reports whether endpoint is a URL on this machine.
func isLoopback(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dynamo returns a DynamoDB client for the common flags.
func (a *app) dynamo(ctx context.Context) (*dynamodb.Client, error) {
	cfg, err := a.awsConfig(ctx, a.opts.endpoint)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if a.opts.endpoint != "" {
			o.BaseEndpoint = aws.String(a.opts.endpoint)
		}
	}), nil
}

// tracker returns a Tracker on the table of the common flags.
func (a *app) tracker(ctx context.Context) (*tracker.Tracker, error) {
	if a.opts.table == "" {
		return nil, usagef("no table: pass --table or set %s", envTable)
	}
	db, err := a.dynamo(ctx)
	if err != nil {
		return nil, err
	}
	return tracker.New(db, tracker.Config{
		Table: a.opts.table, Codes: a.opts.codes, MaxRetry: a.opts.maxRetry,
		LeaseDuration: a.opts.lease, Now: a.now,
	})
}

// where says where the table lives, for messages.
func (a *app) where() string {
	if a.opts.endpoint != "" {
		return "at " + a.opts.endpoint
	}
	if a.opts.region != "" {
		return "in AWS region " + a.opts.region
	}
	return "on AWS"
}

// explain turns the errors an operator can act on into a sentence that says what to do.
func (a *app) explain(err error) string {
	msg, _ := a.describe(err)
	return msg
}

// kindUsage is the kind of a usage error (exit code 2).
const kindUsage = "usage"

// describe is explain, and also names the kind of error (the "type" of a JSON error).
func (a *app) describe(err error) (msg, kind string) {
	var ue *usageError
	if errors.As(err, &ue) {
		return ue.msg, kindUsage
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted", "interrupted"
	}
	var oe *opError
	if errors.As(err, &oe) {
		return err.Error(), oe.kind
	}
	var rnf *types.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return fmt.Sprintf("table %q does not exist %s (create it with 'trackerctl create-table' on DynamoDB Local, or deploy the stack on AWS)", a.opts.table, a.where()), "table_not_found"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fmt.Sprintf("cannot reach %s: %v", a.service(err), dns), "unreachable"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Sprintf("cannot reach %s: %v", a.service(err), op), "unreachable"
	}
	msg = err.Error()
	if strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "no EC2 IMDS role found") {
		return "no AWS credentials: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", "no_credentials"
	}
	var ce *tracker.ConflictError
	if errors.As(err, &ce) {
		return msg, kindRefused
	}
	return msg, "error"
}

// service names the endpoint an error came from.
func (a *app) service(err error) string {
	if strings.Contains(err.Error(), "SFN: ") {
		return "Step Functions"
	}
	if a.opts.endpoint != "" {
		return "DynamoDB at " + a.opts.endpoint
	}
	return "DynamoDB"
}
