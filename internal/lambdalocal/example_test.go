package lambdalocal_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/lambdalocal"
)

// Serve the claim function built by `make build` and invoke it with the Lambda client, as a
// state machine runner or a test would.
func ExampleStart() {
	ctx := context.Background()
	srv, err := lambdalocal.Start(ctx, lambdalocal.Config{Functions: []lambdalocal.Function{{
		Name:      "claim",
		Bootstrap: "build/amd64/claim/bootstrap",
		Env:       map[string]string{"TRACKER_TABLE": "tasks", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"},
		Timeout:   30 * time.Second,
		PoolSize:  4,
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	client := lambda.New(lambda.Options{
		BaseEndpoint: aws.String(srv.URL()),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	out, err := client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("arn:aws:lambda:us-east-1:012345678912:function:claim"),
		Payload:      []byte(`{"job_id":"j","task_id":"t-1"}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	if out.FunctionError != nil { // "Unhandled": the payload is {"errorType":..,"errorMessage":..}
		fmt.Printf("claim failed: %s\n", out.Payload)
		return
	}
	fmt.Printf("claimed: %s\n", out.Payload)
}
