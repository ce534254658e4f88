package tracker_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// clock is a settable test clock, so leases expire without waiting.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 29, 0, 43, 51, 185247000, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one test's tracker over its own fresh table.
type env struct {
	tr    *tracker.Tracker
	db    *dynamodb.Client
	table string
	clock *clock
}

// newEnv creates a table for the test and a tracker on it; cfg.Table and cfg.Now are set here.
func newEnv(t testing.TB, cfg tracker.Config, opts ...func(*dynamodb.Options)) *env {
	t.Helper()
	db := dynamotest.Client(t, opts...)
	table := dynamotest.TableName(t)
	if err := tracker.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	c := newClock()
	cfg.Table, cfg.Now = table, c.Now
	tr, err := tracker.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{tr: tr, db: db, table: table, clock: c}
}
