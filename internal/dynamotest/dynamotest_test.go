package dynamotest_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
)

// validTableName is DynamoDB's rule for table names.
var validTableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

// createTable creates a table keyed by pk (S) and sk (S), with a global index byGroup keyed
// by grp (S) projecting everything.
func createTable(t *testing.T, db *dynamodb.Client, name string) {
	t.Helper()
	s := types.ScalarAttributeTypeS
	_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: s},
			{AttributeName: aws.String("sk"), AttributeType: s},
			{AttributeName: aws.String("grp"), AttributeType: s},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("byGroup"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("grp"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
}

// item is a small item (well under 1 KB) in group grp.
func item(pk, sk, grp string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":  &types.AttributeValueMemberS{Value: pk},
		"sk":  &types.AttributeValueMemberS{Value: sk},
		"grp": &types.AttributeValueMemberS{Value: grp},
	}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

// tableExists reports whether DescribeTable finds the table.
func tableExists(t *testing.T, db *dynamodb.Client, name string) bool {
	t.Helper()
	_, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if _, missing := errors.AsType[*types.ResourceNotFoundException](err); missing {
		return false
	}
	if err != nil {
		t.Fatalf("describe table %s: %v", name, err)
	}
	return true
}

func TestMainExportsTheEndpointToChildProcesses(t *testing.T) {
	if dynamotest.Endpoint() == "" {
		t.Fatal("Endpoint is empty inside Main")
	}
	out, err := exec.Command("sh", "-c", `printf %s "$DYNAMODB_ENDPOINT"`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != dynamotest.Endpoint() {
		t.Errorf("a child process sees DYNAMODB_ENDPOINT=%q, want %q", out, dynamotest.Endpoint())
	}
}

func TestClientCreatesDescribesAndDeletesTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dynamotest.Client(t)
	name := dynamotest.TableName(t)
	createTable(t, db, name)

	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(desc.Table.TableName); got != name {
		t.Errorf("described table %q, want %q", got, name)
	}
	if desc.Table.TableStatus != types.TableStatusActive {
		t.Errorf("table status %s, want ACTIVE straight after CreateTable", desc.Table.TableStatus)
	}
	if n := len(desc.Table.GlobalSecondaryIndexes); n != 1 {
		t.Errorf("table has %d global indexes, want 1", n)
	}

	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if tableExists(t, db, name) {
		t.Errorf("table %s still exists after DeleteTable", name)
	}
}

// Not parallel: it changes the process environment.
func TestClientIgnoresTheDevelopersAWSConfiguration(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_PROFILE":                 "no-such-profile",
		"AWS_CONFIG_FILE":             "/nonexistent/config",
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
		"AWS_ACCESS_KEY_ID":           "AKIAWRONG",
		"AWS_SECRET_ACCESS_KEY":       "wrong",
		"AWS_REGION":                  "eu-west-3",
		"AWS_ENDPOINT_URL":            "http://127.0.0.1:1",
		"AWS_ENDPOINT_URL_DYNAMODB":   "http://127.0.0.1:1",
		"AWS_USE_FIPS_ENDPOINT":       "true",
	} {
		t.Setenv(k, v)
	}
	db := dynamotest.Client(t)
	if _, err := db.ListTables(context.Background(), &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err != nil {
		t.Fatalf("ListTables with a hostile AWS environment: %v", err)
	}
	if r := db.Options().Region; r != dynamotest.Region {
		t.Errorf("region %q, want %q", r, dynamotest.Region)
	}
}

func TestTableName(t *testing.T) {
	t.Parallel()
	db := dynamotest.Client(t)

	t.Run("names are valid and unique", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for range 100 {
			name := dynamotest.TableName(t)
			if !validTableName.MatchString(name) {
				t.Fatalf("TableName = %q, not a valid table name", name)
			}
			if seen[name] {
				t.Fatalf("TableName repeated %q", name)
			}
			seen[name] = true
		}
	})

	for _, testName := range []string{
		"spaces and / slashes: and punctuation!?",
		"ünïcödé 表",
		strings.Repeat("long", 100),
		"x",
	} {
		t.Run(testName, func(t *testing.T) {
			t.Parallel()
			name := dynamotest.TableName(t)
			if !validTableName.MatchString(name) {
				t.Fatalf("TableName = %q, not a valid table name", name)
			}
			createTable(t, db, name)
		})
	}

	t.Run("cleanup deletes the table", func(t *testing.T) {
		t.Parallel()
		var name string
		t.Run("creates", func(t *testing.T) {
			name = dynamotest.TableName(t)
			createTable(t, db, name)
		})
		if tableExists(t, db, name) {
			t.Errorf("table %s outlived the test that created it", name)
		}
	})

	t.Run("cleanup ignores a table the test did not create or deleted itself", func(t *testing.T) {
		t.Parallel()
		t.Run("never creates", func(t *testing.T) {
			dynamotest.TableName(t)
		})
		t.Run("deletes itself", func(t *testing.T) {
			name := dynamotest.TableName(t)
			createTable(t, db, name)
			if _, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestCounterCountsCallsAndCapacity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var c dynamotest.Counter
	db := dynamotest.Client(t, c.Option())
	table := dynamotest.TableName(t)
	createTable(t, db, table)
	if got := c.Calls(); got["CreateTable"] != 1 || c.Total() != 1 || c.Capacity() != 0 {
		t.Errorf("after CreateTable: calls %v, total %d, capacity %v; want CreateTable once, no capacity", got, c.Total(), c.Capacity())
	}
	c.Reset()
	if c.Total() != 0 || len(c.Calls()) != 0 || c.Capacity() != 0 {
		t.Fatalf("after Reset: calls %v, capacity %v", c.Calls(), c.Capacity())
	}

	put := &dynamodb.PutItemInput{TableName: aws.String(table), Item: item("p", "1", "g")}
	if _, err := db.PutItem(ctx, put); err != nil {
		t.Fatal(err)
	}
	if put.ReturnConsumedCapacity != "" {
		t.Errorf("the counter changed the caller's input: ReturnConsumedCapacity = %q", put.ReturnConsumedCapacity)
	}
	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key("p", "1"), ConsistentRead: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "p"}},
	}); err != nil {
		t.Fatal(err)
	}

	want := map[string]int{"PutItem": 1, "GetItem": 1, "Query": 1}
	if got := c.Calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Calls() = %v, want %v", got, want)
	}
	if c.Total() != 3 {
		t.Errorf("Total() = %d, want 3", c.Total())
	}
	// A put of a small item into a table with one index: 1 unit for the table, 1 for the
	// index; a consistent read of a small item: 1; an eventually consistent query: 0.5.
	if got := c.Capacity(); got != 3.5 {
		t.Errorf("Capacity() = %v, want 3.5", got)
	}
}

// TestCounterCapacityPerOperation pins what DynamoDB Local reports as consumed capacity for
// each operation that can return it, on small items (under 1 KB) in a table with one global
// index. Writes cost 1 unit for the table and 1 for the index, transactions twice that,
// eventually consistent reads 0.5 per 4 KB. The PartiQL operations report none at all.
func TestCounterCapacityPerOperation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var c dynamotest.Counter
	db := dynamotest.Client(t, c.Option())
	table := dynamotest.TableName(t)
	createTable(t, db, table)
	for i := range 3 {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item("seed", fmt.Sprint(i), "g")}); err != nil {
			t.Fatal(err)
		}
	}
	tbl := aws.String(table)
	for _, tc := range []struct {
		op   string
		call func() error
		want float64
	}{
		{"PutItem", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: tbl, Item: item("x", "1", "g")})
			return err
		}, 2},
		{"UpdateItem", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tbl, Key: key("x", "1"),
				UpdateExpression:          aws.String("SET n = :n"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: "1"}}})
			return err
		}, 2},
		{"GetItem", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key("x", "1")})
			return err
		}, 0.5},
		{"Query", func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: tbl, IndexName: aws.String("byGroup"),
				KeyConditionExpression:    aws.String("grp = :g"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":g": &types.AttributeValueMemberS{Value: "g"}}})
			return err
		}, 0.5},
		{"Scan", func() error {
			_, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: tbl})
			return err
		}, 0.5},
		{"DeleteItem", func() error {
			_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tbl, Key: key("x", "1")})
			return err
		}, 2},
		{"BatchWriteItem", func() error {
			_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: {
				{PutRequest: &types.PutRequest{Item: item("b", "1", "g")}},
				{PutRequest: &types.PutRequest{Item: item("b", "2", "g")}},
			}}})
			return err
		}, 4},
		{"BatchGetItem", func() error {
			_, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: {
				Keys: []map[string]types.AttributeValue{key("b", "1"), key("b", "2")},
			}}})
			return err
		}, 1},
		{"TransactWriteItems", func() error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: tbl, Item: item("t", "1", "g")}},
				{Delete: &types.Delete{TableName: tbl, Key: key("b", "1")}},
			}})
			return err
		}, 8},
		{"TransactGetItems", func() error {
			_, err := db.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
				{Get: &types.Get{TableName: tbl, Key: key("t", "1")}},
				{Get: &types.Get{TableName: tbl, Key: key("b", "2")}},
			}})
			return err
		}, 4},
		{"ExecuteStatement", func() error {
			_, err := db.ExecuteStatement(ctx, &dynamodb.ExecuteStatementInput{
				Statement: aws.String(fmt.Sprintf(`SELECT * FROM "%s" WHERE pk = 'seed'`, table))})
			return err
		}, 0},
		{"BatchExecuteStatement", func() error {
			_, err := db.BatchExecuteStatement(ctx, &dynamodb.BatchExecuteStatementInput{Statements: []types.BatchStatementRequest{
				{Statement: aws.String(fmt.Sprintf(`SELECT * FROM "%s" WHERE pk = 'seed' AND sk = '0'`, table))},
			}})
			return err
		}, 0},
		{"ExecuteTransaction", func() error {
			_, err := db.ExecuteTransaction(ctx, &dynamodb.ExecuteTransactionInput{TransactStatements: []types.ParameterizedStatement{
				{Statement: aws.String(fmt.Sprintf(`UPDATE "%s" SET n = 2 WHERE pk = 'seed' AND sk = '1'`, table))},
			}})
			return err
		}, 0},
	} {
		c.Reset()
		if err := tc.call(); err != nil {
			t.Errorf("%s: %v", tc.op, err)
			continue
		}
		if got := c.Calls(); got[tc.op] != 1 || c.Total() != 1 {
			t.Errorf("%s: calls %v, want one %s", tc.op, got, tc.op)
		}
		if c.Capacity() != tc.want {
			t.Errorf("%s: capacity %v, want %v", tc.op, c.Capacity(), tc.want)
		}
	}
}

func TestCounterKeepsTheCallersChoiceAndCountsFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var c dynamotest.Counter
	db := dynamotest.Client(t, c.Option())
	table := dynamotest.TableName(t)
	createTable(t, db, table)
	c.Reset()

	out, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item("p", "1", "g"),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityNone})
	if err != nil {
		t.Fatal(err)
	}
	if out.ConsumedCapacity != nil {
		t.Errorf("the caller asked for no consumed capacity and got %+v", out.ConsumedCapacity)
	}
	_, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table + "-missing"), Key: key("p", "1")})
	if _, missing := errors.AsType[*types.ResourceNotFoundException](err); !missing {
		t.Fatalf("GetItem on a missing table: %v, want ResourceNotFoundException", err)
	}
	if got := c.Calls(); got["PutItem"] != 1 || got["GetItem"] != 1 || c.Capacity() != 0 {
		t.Errorf("calls %v, capacity %v; want PutItem and the failed GetItem once each, no capacity", got, c.Capacity())
	}
}

func TestCounterCallsOptionCountsCallsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var c dynamotest.Counter
	db := dynamotest.Client(t, c.CallsOption())
	table := dynamotest.TableName(t)
	createTable(t, db, table)
	c.Reset()

	out, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item("p", "1", "g")})
	if err != nil {
		t.Fatal(err)
	}
	if out.ConsumedCapacity != nil {
		t.Errorf("a call counted alone asked for the consumed capacity: got %+v", out.ConsumedCapacity)
	}
	asked, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item("p", "2", "g"),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes})
	if err != nil {
		t.Fatal(err)
	}
	if asked.ConsumedCapacity == nil || aws.ToFloat64(asked.ConsumedCapacity.CapacityUnits) != 2 {
		t.Errorf("the caller's own ask: consumed capacity %+v, want 2 units (table and index)", asked.ConsumedCapacity)
	}
	_, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table + "-missing"), Key: key("p", "1")})
	if _, missing := errors.AsType[*types.ResourceNotFoundException](err); !missing {
		t.Fatalf("GetItem on a missing table: %v, want ResourceNotFoundException", err)
	}
	if got := c.Calls(); got["PutItem"] != 2 || got["GetItem"] != 1 || c.Total() != 3 || c.Capacity() != 0 {
		t.Errorf("calls %v, total %d, capacity %v; want PutItem twice and the failed GetItem once, no capacity", got, c.Total(), c.Capacity())
	}
}

func TestCounterIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var c, other dynamotest.Counter
	db := dynamotest.Client(t, c.Option(), other.Option()) // two counters on one client
	table := dynamotest.TableName(t)
	createTable(t, db, table)
	c.Reset()
	other.Reset()

	const workers, puts = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range puts {
				if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item(fmt.Sprint(w), fmt.Sprint(i), "g")}); err != nil {
					t.Error(err)
				}
				_ = c.Calls()
				_ = c.Capacity()
			}
		})
	}
	wg.Wait()
	for name, counter := range map[string]*dynamotest.Counter{"first": &c, "second": &other} {
		if got := counter.Calls()["PutItem"]; got != workers*puts {
			t.Errorf("%s counter: %d PutItem calls, want %d", name, got, workers*puts)
		}
		if got := counter.Capacity(); got != 2*workers*puts {
			t.Errorf("%s counter: capacity %v, want %v (table and index)", name, got, 2*workers*puts)
		}
	}
}

func BenchmarkCounterPutItem(b *testing.B) {
	ctx := context.Background()
	var c dynamotest.Counter
	db := dynamotest.Client(b, c.Option())
	table := dynamotest.TableName(b)
	s := types.ScalarAttributeTypeS
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: s}, {AttributeName: aws.String("sk"), AttributeType: s}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange}},
	}); err != nil {
		b.Fatal(err)
	}
	c.Reset()
	i := 0
	for b.Loop() {
		i++
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: key("p", fmt.Sprint(i))}); err != nil {
			b.Fatal(err)
		}
	}
	c.ReportMetrics(b)
}
