package dynamotest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
)

// TestMeterBillsAsDynamoDBDoes: items of 1,024 and 1,025 bytes (by ItemSize) cost 1 and 2
// write units on the table as DynamoDB Local reports them, so ItemSize and DynamoDB Local
// agree on an item's size; a refused conditional write is billed by the old item's size; a
// read is read units.
func TestMeterBillsAsDynamoDBDoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := dynamotest.NewMeter(t, dynamotest.Endpoint())
	db := dynamotest.Client(t, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(m.URL()) })
	table := dynamotest.TableName(t)
	if _, err := db.CreateTable(ctx, dynamotest.SeedTable(table)); err != nil {
		t.Fatal(err)
	}
	// key (3) + a one-byte key (1) + value (5) + "v" (1) + data (4) + the string: 14 bytes and the data.
	item := func(k string, size int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"key": &types.AttributeValueMemberS{Value: k}, "value": &types.AttributeValueMemberS{Value: "v"},
			"data": &types.AttributeValueMemberS{Value: strings.Repeat("d", size-14)},
		}
	}
	put := func(it map[string]types.AttributeValue, cond string) error {
		in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: it,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
		if cond != "" {
			in.ConditionExpression, in.ExpressionAttributeNames = aws.String(cond), map[string]string{"#k": "key"}
		}
		_, err := db.PutItem(ctx, in)
		return err
	}
	for _, tc := range []struct {
		size      int
		wantUnits float64 // the table's and the index's (keys only: 1)
	}{{1024, 2}, {1025, 3}} {
		it := item(fmt.Sprint(tc.size%10), tc.size) // "4", "5": new items, each an index write
		if got := dynamotest.ItemSizeOf(it); got != tc.size {
			t.Fatalf("ItemSize = %d, want %d", got, tc.size)
		}
		before := m.Usage()
		if err := put(it, ""); err != nil {
			t.Fatal(err)
		}
		if d := m.Usage().Sub(before); d.WriteUnits != tc.wantUnits || d.Calls["PutItem"] != 1 || d.ReadUnits != 0 {
			t.Errorf("a %d-byte put: %+v, want %v write units", tc.size, d, tc.wantUnits)
		}
	}
	// The 1,025-byte item is there: a put on condition that it is not is refused, and billed
	// by its size (2 units), which DynamoDB Local does not report.
	before := m.Usage()
	err := put(item("5", 100), "attribute_not_exists(#k)")
	if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); !ok {
		t.Fatalf("conditional put = %v, want refused", err)
	}
	if d := m.Usage().Sub(before); d.Refused != 1 || d.RefusedUnits != 2 || d.WriteUnits != 0 {
		t.Errorf("refused put: %+v, want 1 refused billed 2 units", d)
	}
	before = m.Usage()
	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: "5"}}}); err != nil {
		t.Fatal(err)
	}
	if d := m.Usage().Sub(before); d.ReadUnits != 0.5 || d.WriteUnits != 0 || d.Calls["GetItem"] != 1 {
		t.Errorf("an eventually consistent get of 1,025 bytes: %+v, want 0.5 read units", d)
	}
}

func TestItemSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		item string // DynamoDB JSON
		want int
	}{
		{"string", `{"ab":{"S":"xyz"}}`, 5},
		{"multi-byte string", `{"a":{"S":"é"}}`, 3},
		{"number: one byte per two significant digits, plus one", `{"n":{"N":"12345"}}`, 1 + 4},
		{"number: trailing and leading zeros do not count", `{"n":{"N":"-0.00100"}}`, 1 + 2},
		{"boolean and null", `{"b":{"BOOL":true},"z":{"NULL":true}}`, 2 + 2},
		{"binary", `{"b":{"B":"AAEC"}}`, 1 + 3},
		{"list: 3 bytes and one per element", `{"l":{"L":[{"S":"ab"},{"N":"1"}]}}`, 1 + 3 + (1 + 2) + (1 + 2)},
		{"map: elements count their names", `{"m":{"M":{"k":{"S":"v"}}}}`, 1 + 3 + (1 + 1 + 1)},
		{"string set", `{"s":{"SS":["a","bc"]}}`, 1 + 3},
	}
	// ItemSizeOf reads the SDK's form as ItemSize reads the wire's.
	sdk := map[string]types.AttributeValue{
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "ab"}, &types.AttributeValueMemberN{Value: "1"}}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberBOOL{Value: true}}},
		"b": &types.AttributeValueMemberB{Value: []byte{0, 1, 2}}, "z": &types.AttributeValueMemberNULL{Value: true},
	}
	if got, want := dynamotest.ItemSizeOf(sdk), (1+3+3+3)+(1+3+3)+(1+3)+(1+1); got != want {
		t.Errorf("ItemSizeOf = %d, want %d", got, want)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var item map[string]any
			if err := json.Unmarshal([]byte(tc.item), &item); err != nil {
				t.Fatal(err)
			}
			if got := dynamotest.ItemSize(item); got != tc.want {
				t.Errorf("ItemSize(%s) = %d, want %d", tc.item, got, tc.want)
			}
		})
	}
}
