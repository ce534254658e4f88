package tracker_test

import (
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// env is one test's tracker over its own fresh table.
type env struct {
	tr    *tracker.Tracker
	db    *dynamodb.Client
	table string
	clock *trackertest.Clock
}

// newEnv creates a table for the test and a tracker on it; cfg.Table and cfg.Now are set here.
func newEnv(t testing.TB, cfg tracker.Config, opts ...func(*dynamodb.Options)) *env {
	t.Helper()
	c := trackertest.NewClock(trackertest.T0)
	cfg.Now = c.Now
	tr, db := trackertest.New(t, cfg, opts...)
	return &env{tr: tr, db: db, table: tr.Config().Table, clock: c}
}
