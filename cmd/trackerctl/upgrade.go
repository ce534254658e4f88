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
		summary: "give a table the tracker's indexes, and register the jobs and group the failures it holds",
		help: `Bring a table up to the tracker's layout, in four steps.

The index: a table created by the seed (index "` + tracker.IndexName + `" on "value"
alone, projecting keys only) gets the index the tracker's queries need: delete the index and
create it again keyed on "value" and "key" with the tracker's projection, then wait until it
is active. The rebuild touches no item, and the seed's queries keep working on the new index; while
the index rebuilds, listing tasks fails. A table whose key is not the tracker's is refused;
a table that has the tracker's index already keeps it.

The failure index: a table without the index "` + tracker.FailureIndexName + `" (created before failures
were grouped) gets it, and the command waits until it is active. DynamoDB builds it from the
items that have its keys; until then trackerctl errors and the listings and bulk actions by
failure fail, and nothing else does.

The job registry: every job that has tasks but no registry item (the seed's jobs, which
sweeps of all jobs would skip) is registered with the default options, and every registry
item in the legacy form (____jobs____{job}) moves to the current key ({job}____) with its
times. This reads the keys of every item once (a Scan) and prints what it read and wrote.

The failures: every failed or ignored task whose failure was recorded without a fingerprint
(by the seed, or an earlier version) is fingerprinted from its stored error and traceback and
joins its group (a Scan of the items with an error, and one conditional write each).

Running it again writes nothing.`,
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
			if err := a.addFailureIndex(ctx, db, timeout); err != nil {
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
			if err != nil {
				return err
			}
			fm, err := tr.MigrateFailures(ctx)
			if fm != nil {
				changed := ""
				if fm.Changed > 0 {
					changed = fmt.Sprintf(", %d changed meanwhile (left for their next failure)", fm.Changed)
				}
				fmt.Fprintf(a.stdout, "failures: read %s with an error and no fingerprint (a Scan of %s): fingerprinted %s%s\n",
					plural(fm.Scanned, "item"), plural(fm.Pages, "page"), plural(fm.Fingerprinted, "failed or ignored task"), changed)
			}
			return err
		},
	}
}

// addFailureIndex gives the table the failure index, unless it has it (one of another
// shape is deleted first), and waits until it is active.
func (a *app) addFailureIndex(ctx context.Context, db *dynamodb.Client, timeout time.Duration) error {
	desc, err := describe(ctx, db, a.opts.table)
	if err != nil {
		return err
	}
	if tracker.CheckFailureIndex(desc) == nil {
		fmt.Fprintf(a.stdout, "table %s has the index %s already\n", a.opts.table, tracker.FailureIndexName)
		return nil
	}
	if indexNamed(desc, tracker.FailureIndexName) != nil {
		if err := a.deleteIndex(ctx, db, tracker.FailureIndexName, timeout); err != nil {
			return err
		}
	}
	def, gsi := tracker.TableDefinition(a.opts.table), tracker.FailureIndex()
	_, err = db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName: aws.String(a.opts.table), AttributeDefinitions: definitionsOf(def, gsi.KeySchema),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
			IndexName: gsi.IndexName, KeySchema: gsi.KeySchema, Projection: gsi.Projection,
		}}},
	})
	if err != nil {
		return fmt.Errorf("create index %s: %w", tracker.FailureIndexName, err)
	}
	fmt.Fprintf(a.stdout, "creating index %s of %s…\n", tracker.FailureIndexName, a.opts.table)
	if err := waitFor(ctx, db, a.opts.table, timeout, "the failure index to be active", func(d *types.TableDescription) bool {
		i := indexNamed(d, tracker.FailureIndexName)
		return i != nil && i.IndexStatus == types.IndexStatusActive && d.TableStatus == types.TableStatusActive
	}); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "table %s %s now has the index %s\n", a.opts.table, a.where(), tracker.FailureIndexName)
	return nil
}

// deleteIndex deletes the table's index name and waits until it is gone.
func (a *app) deleteIndex(ctx context.Context, db *dynamodb.Client, name string, timeout time.Duration) error {
	_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:                   aws.String(a.opts.table),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String(name)}}},
	})
	if err != nil {
		return fmt.Errorf("delete index %s: %w", name, err)
	}
	fmt.Fprintf(a.stdout, "deleting index %s of %s…\n", name, a.opts.table)
	return waitFor(ctx, db, a.opts.table, timeout, "the old index to go", func(d *types.TableDescription) bool {
		return indexNamed(d, name) == nil && d.TableStatus == types.TableStatusActive
	})
}

// rebuildIndex replaces the index of a seed-created table by the tracker's, and waits until
// it is active.
func (a *app) rebuildIndex(ctx context.Context, db *dynamodb.Client, desc *types.TableDescription, timeout time.Duration) error {
	if !looksLikeTracker(desc) {
		return fmt.Errorf("table %s %s does not look like a tracker table (hash key %q of type S alone, on-demand): refusing to change its indexes", a.opts.table, a.where(), tracker.KeyAttribute)
	}
	def := tracker.TableDefinition(a.opts.table)
	if indexOf(desc) != nil {
		if err := a.deleteIndex(ctx, db, tracker.IndexName, timeout); err != nil {
			return err
		}
	}
	gsi := def.GlobalSecondaryIndexes[0]
	_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:            aws.String(a.opts.table),
		AttributeDefinitions: definitionsOf(def, gsi.KeySchema),
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

// definitionsOf returns the attribute definitions of def that keys name: those an index
// created by UpdateTable needs.
func definitionsOf(def *dynamodb.CreateTableInput, keys []types.KeySchemaElement) []types.AttributeDefinition {
	var out []types.AttributeDefinition
	for _, ad := range def.AttributeDefinitions {
		for _, k := range keys {
			if aws.ToString(k.AttributeName) == aws.ToString(ad.AttributeName) {
				out = append(out, ad)
			}
		}
	}
	return out
}

func indexOf(d *types.TableDescription) *types.GlobalSecondaryIndexDescription {
	return indexNamed(d, tracker.IndexName)
}

func indexNamed(d *types.TableDescription, name string) *types.GlobalSecondaryIndexDescription {
	for i := range d.GlobalSecondaryIndexes {
		if aws.ToString(d.GlobalSecondaryIndexes[i].IndexName) == name {
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
