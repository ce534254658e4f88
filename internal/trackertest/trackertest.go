// Package trackertest gives a test a tracker over a fresh DynamoDB Local table of its own,
// and a settable clock, so that leases expire without waiting:
//
//	func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		clock := trackertest.NewClock(trackertest.T0)
//		tr, db := trackertest.New(t, tracker.Config{Now: clock.Now})
//		...
//		clock.Advance(tr.Config().LeaseDuration)
//	}
//
// It links package testing: tests import it, programs never do.
package trackertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Table creates a table with the tracker's layout (tracker.CreateTable), named after the test
// and deleted when it ends (dynamotest.TableName), and returns a DynamoDB Local client, with
// opts applied as dynamotest.Client applies them, and the table's name.
func Table(tb testing.TB, opts ...func(*dynamodb.Options)) (*dynamodb.Client, string) {
	tb.Helper()
	db := dynamotest.Client(tb, opts...)
	table := dynamotest.TableName(tb)
	if err := tracker.CreateTable(context.Background(), db, table); err != nil {
		tb.Fatalf("trackertest: create table %s: %v", table, err)
	}
	return db, table
}

// New returns a tracker with cfg over a fresh table (Table), and the client it uses, for a
// test that reads or writes the table beside the tracker. It sets cfg.Table; the tracker's
// Config().Table names the table.
func New(tb testing.TB, cfg tracker.Config, opts ...func(*dynamodb.Options)) (*tracker.Tracker, *dynamodb.Client) {
	tb.Helper()
	db, table := Table(tb, opts...)
	cfg.Table = table
	tr, err := tracker.New(db, cfg)
	if err != nil {
		tb.Fatalf("trackertest: %v", err)
	}
	return tr, db
}

// T0 is the time tests start their clock at: a time with microseconds, as the table stores
// them, so that a time written and read back compares equal.
var T0 = time.Date(2026, 11, 29, 0, 43, 51, 185247000, time.UTC)

// Clock is a settable clock for tracker.Config.Now; it is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that stands at t until it is set or advanced.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d (back, for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
