package dynamotest_test

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestTableAndCounter(t *testing.T) {
	ctx := context.Background()
	var c dynamotest.Counter
	db := dynamotest.Client(t, c.Option())
	name := dynamotest.TableName(t)
	if other := dynamotest.TableName(t); other == name {
		t.Fatalf("TableName repeated %q", name)
	}
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("k"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("k"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Reset()
	item := map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: "a"}}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: item, ConsistentRead: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	calls := c.Calls()
	if c.Total() != 2 || calls["PutItem"] != 1 || calls["GetItem"] != 1 {
		t.Errorf("calls = %v", calls)
	}
	// A 1 KB put costs 1 write unit and a consistent 4 KB read 1 read unit.
	if c.Capacity() != 2 {
		t.Errorf("capacity = %v, want 2", c.Capacity())
	}
}
