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
		summary: "give a table the tracker's index, and register the jobs the seed created",
		help: `Bring a table up to the tracker's layout, in two steps.

The index: a table created by the seed (index "` + tracker.IndexName + `" on "value"
alone, projecting keys only) gets the index the tracker's queries need: delete the index and
create it again keyed on "value" and "key" with the tracker's projection, then wait until it
is active. The rebuild touches no item, and the seed's queries keep working on the new index; while
the index rebuilds, listing tasks fails. A table whose key is not the tracker's is refused;
a table that has the tracker's index already keeps it.

The job registry: every job that has tasks but no registry item (the seed's jobs, which
sweeps of all jobs would skip) is registered with the default options, and every registry
item in the legacy form (____jobs____{job}) moves to the current key ({job}____) with its
times. This reads the keys of every item once (a Scan) and prints what it read and wrote;
running it again writes nothing.`,
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
				fmt.Fprintf(a.stdout, "table %s %s has the tracker's layout already; its index is left as it is\n", a.opts.table, a.where())
			} else if err := a.rebuildIndex(ctx, db, desc, timeout); err != nil {
				return err
			}
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			m, err := tr.MigrateRegistry(ctx)
			if m != nil {
				a.printMigration(m)
			}
			return err
		},
	}
}

// rebuildIndex replaces the index of a seed-created table by the tracker's, and waits until
// it is active.
func (a *app) rebuildIndex(ctx context.Context, db *dynamodb.Client, desc *types.TableDescription, timeout time.Duration) error {
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
	_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
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
}

// printMigration says what the registry migration read and wrote.
func (a *app) printMigration(m *tracker.RegistryMigration) {
	w := a.stdout
	fmt.Fprintf(w, "registry: read the keys of %s (a Scan of %s): %s with tasks, %s in the legacy form\n",
		plural(m.Scanned, "item"), plural(m.Pages, "page"), plural(m.Jobs, "job"), plural(len(m.Moved)+len(m.Dropped), "registry item"))
	if len(m.Registered) > 0 {
		fmt.Fprintf(w, "registry: registered %s that had tasks and no registry item: %s\n", plural(len(m.Registered), "job"), idList(m.Registered, 10))
	}
	if len(m.Moved) > 0 {
		fmt.Fprintf(w, "registry: moved %s from ____jobs____{job} to {job}____, times kept: %s\n", plural(len(m.Moved), "legacy item"), idList(m.Moved, 10))
	}
	if len(m.Dropped) > 0 {
		fmt.Fprintf(w, "registry: deleted %s of jobs registered under {job}____ already (the earlier creation time kept): %s\n", plural(len(m.Dropped), "legacy item"), idList(m.Dropped, 10))
	}
	for _, s := range m.Skipped {
		fmt.Fprintf(w, "registry: left the job of %s unregistered: %s\n", escape(s.Key), s.Reason)
	}
	if len(m.Registered)+len(m.Moved)+len(m.Dropped) == 0 {
		fmt.Fprintln(w, "registry: every job with tasks is registered, in the current form: nothing written")
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
