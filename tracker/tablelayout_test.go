package tracker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestSeedCreatedTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	counter := &dynamotest.Counter{}
	db := dynamotest.Client(t, counter.Option())
	table := dynamotest.TableName(t)
	if _, err := db.CreateTable(ctx, dynamotest.SeedTable(table)); err != nil {
		t.Fatal(err)
	}
	c := trackertest.NewClock(trackertest.T0)
	tr, err := tracker.New(db, tracker.Config{Table: table, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	// Transitions do not need the index: they work on the seed's table.
	if _, err := tr.CreateTask(ctx, job, "t", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Claim(ctx, job, "t", "w"); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	queries := []struct {
		name string
		run  func() error
	}{
		{"List", func() error {
			p, err := tr.List(ctx, job, tracker.ListOptions{})
			if p != nil {
				t.Errorf("List returned a page %+v with its error", p)
			}
			return err
		}},
		{"Pending", func() error { _, err := tr.List(ctx, job, tracker.ListOptions{Pending: true}); return err }},
		{"NextDue", func() error { _, err := tr.NextDue(ctx, job); return err }},
		{"Span", func() error {
			s, err := tr.Span(ctx, job)
			if s != (tracker.Span{}) {
				t.Errorf("Span returned %+v with its error", s)
			}
			return err
		}},
	}
	for _, q := range queries {
		err := q.run()
		var le *tracker.TableLayoutError
		if !errors.Is(err, tracker.ErrTableLayout) || !errors.As(err, &le) || le.Table != table {
			t.Fatalf("%s on the seed's table = %v, want a *TableLayoutError", q.name, err)
		}
		if !strings.Contains(err.Error(), "trackerctl upgrade-table --table "+table) || !strings.Contains(le.Reason, "without key as range key") {
			t.Errorf("%s: error %q does not say what is wrong and how to fix it", q.name, err)
		}
	}
	// A listing reads while the table is described (nothing it read is returned: List's page
	// is nil above); NextDue waits for the check.
	if calls := counter.Calls(); calls["DescribeTable"] != len(queries) {
		t.Errorf("calls = %v; want a DescribeTable per refused query (a wrong layout is not remembered)", calls)
	}
	// Count and DeleteJob read keys only: the seed's index serves them.
	if counts, err := tr.Count(ctx, job); err != nil || counts[tracker.InProgress] != 1 {
		t.Errorf("Count = %v, %v", counts, err)
	}
}

// TestSpanProvesTheLayout: a pool's first call, Span, proves the index's layout with its
// own first query (a condition on the range key, a projection of what the tracker reads)
// rather than describe the table, which on DynamoDB Local counts every item; the listings
// after it need no check. An index keyed right that projects too little refuses that query,
// and Span returns the layout error, from the description.
func TestSpanProvesTheLayout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		keysOnly  bool
		reason    string // of the layout error; none when Span succeeds
		described int
	}{
		{name: "the tracker's index", described: 0},
		{name: "an index projecting keys only", keysOnly: true, reason: "does not project", described: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			counter := &dynamotest.Counter{}
			db := dynamotest.Client(t, counter.Option())
			table := dynamotest.TableName(t)
			def := tracker.TableDefinition(table)
			if tc.keysOnly {
				for i, gsi := range def.GlobalSecondaryIndexes {
					if aws.ToString(gsi.IndexName) == tracker.IndexName {
						def.GlobalSecondaryIndexes[i].Projection = &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
					}
				}
			}
			if _, err := db.CreateTable(ctx, def); err != nil {
				t.Fatal(err)
			}
			tr, err := tracker.New(db, tracker.Config{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"t-2", "t-1"} {
				if _, err := tr.CreateTask(ctx, job, id, nil); err != nil {
					t.Fatal(err)
				}
			}
			counter.Reset()
			span, err := tr.Span(ctx, job)
			if tc.reason == "" {
				if want := (tracker.Span{Pending: true, First: "t-1", Last: "t-2"}); err != nil || span != want {
					t.Fatalf("Span = %+v, %v; want %+v", span, err, want)
				}
				page, err := tr.List(ctx, job, tracker.ListOptions{Pending: true, IDsOnly: true})
				if err != nil || len(page.Tasks) != 2 {
					t.Fatalf("List = %+v, %v", page, err)
				}
			} else {
				var le *tracker.TableLayoutError
				if !errors.As(err, &le) || !strings.Contains(le.Reason, tc.reason) || span != (tracker.Span{}) {
					t.Fatalf("Span = %+v, %v; want a *TableLayoutError that says %q", span, err, tc.reason)
				}
			}
			if n := counter.Calls()["DescribeTable"]; n != tc.described {
				t.Errorf("DescribeTable called %d times, want %d", n, tc.described)
			}
		})
	}
}

func TestLayoutIsCheckedOncePerTracker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	counter := &dynamotest.Counter{}
	e := newEnv(t, tracker.Config{}, counter.Option())
	e.create(t, "t", "")
	counter.Reset() // creating the table described it
	for range 3 {
		if _, err := e.tr.List(ctx, job, tracker.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true}); err != nil {
			t.Fatal(err)
		}
	}
	if n := counter.Calls()["DescribeTable"]; n != 1 {
		t.Errorf("DescribeTable called %d times, want once", n)
	}
}

// TestFailureQueriesWithoutTheIndex: the queries of the failure index, which read before (a
// listing) or while (Groups) the table is described, return on a table without the index, or
// whose index projects too little, the layout error that says how to fix it, rather than the
// Query's own, and nothing they read.
func TestFailureQueriesWithoutTheIndex(t *testing.T) {
	t.Parallel()
	keysOnly := func(table string) *dynamodb.CreateTableInput {
		def := tracker.TableDefinition(table)
		for i, gsi := range def.GlobalSecondaryIndexes {
			if aws.ToString(gsi.IndexName) == tracker.FailureIndexName {
				def.GlobalSecondaryIndexes[i].Projection = &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
			}
		}
		return def
	}
	for _, tc := range []struct {
		name   string
		def    func(table string) *dynamodb.CreateTableInput
		reason string
	}{
		{"the seed's table", dynamotest.SeedTable, "it has no index " + tracker.FailureIndexName},
		{"a failure index of keys only", keysOnly, "does not project"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := dynamotest.Client(t)
			table := dynamotest.TableName(t)
			if _, err := db.CreateTable(ctx, tc.def(table)); err != nil {
				t.Fatal(err)
			}
			tr, err := tracker.New(db, tracker.Config{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tr.CreateTask(ctx, job, "t", nil); err != nil {
				t.Fatal(err)
			}
			queries := []struct {
				name string
				run  func() error
			}{
				{"List by fingerprint", func() error {
					p, err := tr.List(ctx, job, tracker.ListOptions{Fingerprint: "v1:0123456789ab"})
					if p != nil {
						t.Errorf("List returned a page %+v with its error", p)
					}
					return err
				}},
				{"List of ids by error text", func() error {
					_, err := tr.List(ctx, job, tracker.ListOptions{ErrorContains: "timeout", IDsOnly: true})
					return err
				}},
				{"List by error text", func() error {
					_, err := tr.List(ctx, job, tracker.ListOptions{ErrorContains: "timeout"})
					return err
				}},
				{"Groups", func() error {
					g, err := tr.Groups(ctx, job, tracker.GroupOptions{})
					if g != nil {
						t.Errorf("Groups returned %+v with its error", g)
					}
					return err
				}},
			}
			for _, q := range queries {
				err := q.run()
				var le *tracker.TableLayoutError
				if !errors.As(err, &le) || le.Index != tracker.FailureIndexName || !strings.Contains(le.Reason, tc.reason) ||
					!strings.Contains(err.Error(), "trackerctl upgrade-table --table "+table) {
					t.Errorf("%s = %v, want its *TableLayoutError (%s)", q.name, err, tc.reason)
				}
			}
		})
	}
}
