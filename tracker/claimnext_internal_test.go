package tracker

import (
	"context"
	"fmt"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
)

// TestLoopPagesStayAPage: a loop of ClaimNext reads a page of nextPage claimable tasks,
// however many its query reads past running ones (a filtered read reads a default page per
// call), so that what it skips after a refusal is a few of its page, not of a hundred.
func TestLoopPagesStayAPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dynamotest.Client(t)
	table := dynamotest.TableName(t)
	if err := CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	tr, err := New(db, Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	const job = "pages"
	tasks := make([]NewTask, 40)
	for i := range tasks {
		tasks[i] = NewTask{ID: fmt.Sprintf("t-%02d", i)}
	}
	if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	page, more, err := tr.pendingIn(ctx, job, 1, Position{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != nextPage || !more || page[0].TaskID != "t-00" || page[nextPage-1].TaskID != fmt.Sprintf("t-%02d", nextPage-1) {
		t.Errorf("a loop's page holds %d tasks (more %v): %v; want the first %d and more", len(page), more, page, nextPage)
	}
}
