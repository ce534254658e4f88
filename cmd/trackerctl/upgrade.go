package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func upgradeTableCommand() *command {
	var timeout time.Duration
	return &command{
		name:    "upgrade-table",
		summary: "recreate a seed-created table's index with the tracker's key schema and projection",
		help: `Give a table created by the seed (index "` + tracker.IndexName + `" on "value" alone,
projecting keys only) the index the tracker's queries need: delete the index and create it
again keyed on "value" and "key" with the tracker's projection, then wait until it is
active. Items are not touched, and the seed's queries keep working on the new index; while
the index rebuilds, listing tasks fails. A table whose key is not the tracker's is refused;
a table that has the tracker's layout already is left alone.`,
		nArg: [2]int{0, 0},
		flags: func(fs *flagSet) {
			fs.DurationVar(&timeout, "timeout", 30*time.Minute, "how long to wait for each step of the index rebuild")
		},
		run: func(ctx context.Context, a *app, _ []string) error {
			if a.opts.table == "" {
				return usagef("no table: pass --table or set %s", envTable)
			}
			db, err := a.dynamo(ctx)
			if err != nil {
				return err
			}
			desc, err := describe(ctx, db, a.opts.table)
			if err != nil {
				return err
			}
			if err := tracker.CheckLayout(desc); err == nil {
				fmt.Fprintf(a.stdout, "table %s %s has the tracker's layout already; left as it is\n", a.opts.table, a.where())
				return nil
			}
			if !looksLikeTracker(desc) {
				return fmt.Errorf("table %s %s does not look like a tracker table (hash key %q of type S alone, on-demand): refusing to change its indexes", a.opts.table, a.where(), tracker.KeyAttribute)
			}
			def := tracker.TableDefinition(a.opts.table)
			if indexOf(desc) != nil {
				_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
					TableName:                   aws.String(a.opts.table),
					GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String(tracker.IndexName)}}},
				})
				if err != nil {
					return fmt.Errorf("delete index %s: %w", tracker.IndexName, err)
				}
				fmt.Fprintf(a.stdout, "deleting index %s of %s…\n", tracker.IndexName, a.opts.table)
				if err := waitFor(ctx, db, a.opts.table, timeout, "the old index to go", func(d *types.TableDescription) bool {
					return indexOf(d) == nil && d.TableStatus == types.TableStatusActive
				}); err != nil {
					return err
				}
			}
			gsi := def.GlobalSecondaryIndexes[0]
			_, err = db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
				TableName:            aws.String(a.opts.table),
				AttributeDefinitions: def.AttributeDefinitions,
				GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
					IndexName: gsi.IndexName, KeySchema: gsi.KeySchema, Projection: gsi.Projection,
				}}},
			})
			if err != nil {
				return fmt.Errorf("create index %s: %w", tracker.IndexName, err)
			}
			fmt.Fprintf(a.stdout, "creating index %s of %s…\n", tracker.IndexName, a.opts.table)
			if err := waitFor(ctx, db, a.opts.table, timeout, "the new index to be active", func(d *types.TableDescription) bool {
				i := indexOf(d)
				return i != nil && i.IndexStatus == types.IndexStatusActive && d.TableStatus == types.TableStatusActive
			}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "table %s %s now has the tracker's layout\n", a.opts.table, a.where())
			return nil
		},
	}
}

func describe(ctx context.Context, db *dynamodb.Client, table string) (*types.TableDescription, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", table, err)
	}
	return out.Table, nil
}

// looksLikeTracker reports whether a table has the tracker's (and the seed's) hash key and
// billing, so that rebuilding its index cannot hurt some other application's table.
func looksLikeTracker(d *types.TableDescription) bool {
	def := tracker.TableDefinition(aws.ToString(d.TableName))
	if !sameKeys(d.KeySchema, def.KeySchema) {
		return false
	}
	if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		return false
	}
	for _, ad := range d.AttributeDefinitions {
		if aws.ToString(ad.AttributeName) == tracker.KeyAttribute && ad.AttributeType != types.ScalarAttributeTypeS {
			return false
		}
		if aws.ToString(ad.AttributeName) == tracker.StatusAttribute && ad.AttributeType != types.ScalarAttributeTypeS {
			return false
		}
	}
	return true
}

func indexOf(d *types.TableDescription) *types.GlobalSecondaryIndexDescription {
	for i := range d.GlobalSecondaryIndexes {
		if aws.ToString(d.GlobalSecondaryIndexes[i].IndexName) == tracker.IndexName {
			return &d.GlobalSecondaryIndexes[i]
		}
	}
	return nil
}

// waitFor polls the table's description until done holds, for at most timeout.
func waitFor(ctx context.Context, db *dynamodb.Client, table string, timeout time.Duration, what string, done func(*types.TableDescription) bool) error {
	deadline := time.Now().Add(timeout)
	delay := 100 * time.Millisecond
	for {
		d, err := describe(ctx, db, table)
		if err != nil {
			return err
		}
		if done(d) {
			return nil
		}
		if time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("table %s: gave up after %v waiting for %s", table, timeout, what)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Second)
	}
}
