package tracker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableDefinition returns the CreateTable input of a task table named name: hash key `key`,
// on-demand billing, the index `status_and_task_id-index` on `value` with `key` as range
// key, projecting IndexProjection, and the sparse failure index (FailureIndexName) on
// failure_part with failure_key as range key, projecting FailureIndexProjection. The CDK app
// provisions the same layout.
func TableDefinition(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(KeyAttribute), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(StatusAttribute), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(FailurePartAttribute), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(FailureKeyAttribute), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(KeyAttribute), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexName),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(StatusAttribute), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(KeyAttribute), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{
				ProjectionType:   types.ProjectionTypeInclude,
				NonKeyAttributes: IndexProjection(),
			},
		}, FailureIndex()},
	}
}

// FailureIndex is the definition of the failure index (FailureIndexName): hash key
// failure_part, range key failure_key, projecting FailureIndexProjection. UpdateTable creates
// it on a table that lacks it (`trackerctl upgrade-table`) with the attribute definitions of
// TableDefinition.
func FailureIndex() types.GlobalSecondaryIndex {
	return types.GlobalSecondaryIndex{
		IndexName: aws.String(FailureIndexName),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(FailurePartAttribute), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(FailureKeyAttribute), KeyType: types.KeyTypeRange},
		},
		Projection: &types.Projection{
			ProjectionType:   types.ProjectionTypeInclude,
			NonKeyAttributes: FailureIndexProjection(),
		},
	}
}

// CreateTable creates a task table named name (see TableDefinition) and waits until it is
// active. A table that already exists is left alone and is not an error.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	_, err := client.CreateTable(ctx, TableDefinition(name))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	return nil
}
