package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func createTableCommand() *command {
	var onAWS bool
	return &command{
		name:    "create-table",
		summary: "create the tracker table (for DynamoDB Local) with the exact layout",
		help: `Create the table named by --table with the layout tracker.CreateTable defines (hash key
"key", on-demand billing, the indexes "` + tracker.IndexName + `" and
"` + tracker.FailureIndexName + `"), and wait until it is active. A table that exists already is
checked instead: its key and indexes must be the tracker's (trackerctl upgrade-table brings an
older one up to date).

This is for DynamoDB Local (--endpoint or TRACKER_ENDPOINT). On AWS the stack owns the
table; pass --aws to create it there anyway.`,
		nArg: [2]int{0, 0},
		flags: func(fs *flagSet) {
			fs.BoolVar(&onAWS, "aws", false, "allow creating the table on AWS (no --endpoint)")
		},
		run: func(ctx context.Context, a *app, _ []string) error {
			if a.opts.table == "" {
				return usagef("no table: pass --table or set %s", envTable)
			}
			if a.opts.endpoint == "" && !onAWS {
				return usagef("no --endpoint: create-table is for DynamoDB Local; the stack owns the table on AWS (pass --aws to create it there anyway)")
			}
			db, err := a.dynamo(ctx)
			if err != nil {
				return err
			}
			created := false
			desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(a.opts.table)})
			var rnf *types.ResourceNotFoundException
			switch {
			case errors.As(err, &rnf):
				if err := tracker.CreateTable(ctx, db, a.opts.table); err != nil {
					return err
				}
				created = true
			case err != nil:
				return err
			default:
				if err := checkLayout(desc.Table); err != nil {
					return failf(kindTableLayout, "table %q exists %s but %v", a.opts.table, a.where(), err)
				}
			}
			out := struct {
				Table    string `json:"table"`
				Endpoint string `json:"endpoint,omitempty"`
				Created  bool   `json:"created"`
				Index    string `json:"index"`
			}{a.opts.table, a.opts.endpoint, created, tracker.IndexName}
			if a.opts.json {
				return printJSON(a.stdout, out)
			}
			if created {
				fmt.Fprintf(a.stdout, "created table %s %s (hash key %s, index %s)\n", escape(a.opts.table), escape(a.where()), tracker.KeyAttribute, tracker.IndexName)
			} else {
				fmt.Fprintf(a.stdout, "table %s exists %s with the tracker's layout; left as it is\n", escape(a.opts.table), escape(a.where()))
			}
			return nil
		},
	}
}

// checkLayout compares an existing table's keys and indexes with tracker.TableDefinition.
func checkLayout(t *types.TableDescription) error {
	if err := checkStatusIndex(t); err != nil {
		return err
	}
	if tracker.CheckFailureIndex(t) != nil {
		return fmt.Errorf("it has no index %s (trackerctl upgrade-table adds it)", tracker.FailureIndexName)
	}
	return nil
}

// checkStatusIndex compares an existing table's keys and status index with
// tracker.TableDefinition.
func checkStatusIndex(t *types.TableDescription) error {
	want := tracker.TableDefinition(aws.ToString(t.TableName))
	if !sameKeys(t.KeySchema, want.KeySchema) {
		return fmt.Errorf("its key schema is not the tracker's (hash key %q only)", tracker.KeyAttribute)
	}
	wantIndex := want.GlobalSecondaryIndexes[0]
	for _, gsi := range t.GlobalSecondaryIndexes {
		if aws.ToString(gsi.IndexName) != tracker.IndexName {
			continue
		}
		if !sameKeys(gsi.KeySchema, wantIndex.KeySchema) {
			return fmt.Errorf("its index %s is not keyed on %s, %s", tracker.IndexName, tracker.StatusAttribute, tracker.KeyAttribute)
		}
		return nil
	}
	return fmt.Errorf("it has no index %s", tracker.IndexName)
}

func sameKeys(got, want []types.KeySchemaElement) bool {
	return slices.EqualFunc(got, want, func(g, w types.KeySchemaElement) bool {
		return aws.ToString(g.AttributeName) == aws.ToString(w.AttributeName) && g.KeyType == w.KeyType
	})
}
