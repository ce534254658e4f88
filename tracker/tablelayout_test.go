package tracker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

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
	if calls := counter.Calls(); calls["Query"] != 0 || calls["DescribeTable"] != len(queries) {
		t.Errorf("calls = %v; want no Query and a DescribeTable per refused query (a wrong layout is not remembered)", calls)
	}
	// Count and DeleteJob read keys only: the seed's index serves them.
	if counts, err := tr.Count(ctx, job); err != nil || counts[tracker.InProgress] != 1 {
		t.Errorf("Count = %v, %v", counts, err)
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
