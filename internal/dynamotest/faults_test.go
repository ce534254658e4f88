package dynamotest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
)

func TestFaultsThrottle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dynamotest.Client(t)
	table := dynamotest.TableName(t)
	createTable(t, db, table)
	tbl := aws.String(table)
	put := func(db *dynamodb.Client, pk string) error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: item(pk, "1", "g")})
		return err
	}
	stored := func(pk string) bool {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key(pk, "1"), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item != nil
	}

	t.Run("a throttled request is DynamoDB's throttling error, retried by the SDK, and never sent", func(t *testing.T) {
		var faults dynamotest.Faults
		throttled := dynamotest.Client(t, faults.Option())
		faults.Throttle(1, "PutItem")
		err := put(throttled, "throttled")
		if _, ok := errors.AsType[*types.ThrottlingException](err); !ok {
			t.Fatalf("PutItem = %v, want a *types.ThrottlingException", err)
		}
		attempts := throttled.Options().Retryer.MaxAttempts() // 4 for DynamoDB
		maxAttempts, ok := errors.AsType[*retry.MaxAttemptsError](err)
		if !ok || maxAttempts.Attempt != attempts {
			t.Errorf("PutItem = %v, want the SDK to give up after its %d attempts", err, attempts)
		}
		want := "ThrottlingException: Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly."
		if te, _ := errors.AsType[*types.ThrottlingException](err); te.Error() != want {
			t.Errorf("the error reads %q, want %q", te.Error(), want)
		}
		if stored("throttled") {
			t.Error("the throttled PutItem reached the server")
		}
		// Other operations pass.
		if _, err := throttled.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key("throttled", "1")}); err != nil {
			t.Errorf("GetItem through the injector that throttles PutItem only: %v", err)
		}
		if got, want := fmt.Sprint(faults.Throttled()), fmt.Sprintf("map[PutItem:%d]", attempts); got != want {
			t.Errorf("Throttled() = %s, want %s", got, want)
		}
		faults.Throttle(0)
		if err := put(throttled, "passed"); err != nil || !stored("passed") {
			t.Errorf("PutItem after Throttle(0) = %v, stored %v", err, stored("passed"))
		}
		if got, want := fmt.Sprint(faults.Throttled()), fmt.Sprintf("map[PutItem:%d]", attempts); got != want {
			t.Errorf("Throttled() after Throttle(0) = %s, want %s", got, want)
		}
	})

	t.Run("a share of the requests is throttled, each attempt on its own draw", func(t *testing.T) {
		var faults dynamotest.Faults
		once := dynamotest.Client(t, faults.Option(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
		faults.Throttle(0.5)
		const n = 200
		failed := 0
		for i := range n {
			pk := fmt.Sprintf("share-%d", i)
			err := put(once, pk)
			if _, throttle := errors.AsType[*types.ThrottlingException](err); err != nil && !throttle {
				t.Fatal(err)
			}
			if (err == nil) != stored(pk) {
				t.Fatalf("PutItem %s = %v, yet stored is %v", pk, err, stored(pk))
			}
			if err != nil {
				failed++
			}
		}
		if got := faults.Throttled()["PutItem"]; got != failed {
			t.Errorf("Throttled() counts %d PutItem, %d failed", got, failed)
		}
		// Binomial(200, 0.5): 60 and 140 are over 5.6 standard deviations away.
		if failed < 60 || failed > 140 {
			t.Errorf("%d of %d requests throttled at a share of 0.5", failed, n)
		}
	})
}
