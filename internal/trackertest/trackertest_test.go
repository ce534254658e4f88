package trackertest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestNewGivesATrackerOnItsOwnTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := trackertest.NewClock(trackertest.T0)
	tr, db := trackertest.New(t, tracker.Config{Now: clock.Now})
	other, _ := trackertest.New(t, tracker.Config{})
	if tr.Config().Table == other.Config().Table {
		t.Fatalf("two trackers share table %s", tr.Config().Table)
	}
	if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tr.Config().Table)}); err != nil {
		t.Fatalf("the client does not reach the table: %v", err)
	}
	task, err := tr.CreateTask(ctx, "j", "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !task.CreateTime.Equal(trackertest.T0) {
		t.Errorf("created at %s, want the clock's %s", task.CreateTime, trackertest.T0)
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	c := trackertest.NewClock(trackertest.T0)
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(trackertest.T0.Add(time.Minute)) {
		t.Errorf("after Advance: %s", got)
	}
	c.Set(trackertest.T0)
	if got := c.Now(); !got.Equal(trackertest.T0) {
		t.Errorf("after Set: %s", got)
	}
}
