package lambdafn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/emf"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestFailCountsRefusals(t *testing.T) {
	refusal := &tracker.ConflictError{Op: "claim", JobID: "j", TaskID: "t", Reason: tracker.ErrTaskLocked}
	tests := []struct {
		name    string
		err     error
		refused bool
	}{
		{"a refusal counts", refusal, true},
		{"a stale lease counts", &tracker.ConflictError{Op: "complete", JobID: "j", TaskID: "t", Reason: tracker.ErrLeaseLost}, true},
		{"invalid input does not", &tracker.ValidationError{Field: "job_id", Reason: "empty"}, false},
		{"an unavailable table does not", context.DeadlineExceeded, false},
		{"a bug does not", errors.New("bug"), false},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		d := lambdafn.Deps{Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Metrics: &emf.Writer{Out: &out, Namespace: "ns", Now: func() time.Time { return time.UnixMilli(7) }}}
		var ie messages.InvokeResponse_Error
		if err := d.Fail(context.Background(), d.Log, "claim", "j", tc.err); !errors.As(err, &ie) || ie.Type != lambdafn.ErrorName(tc.err) {
			t.Errorf("%s: Fail returned %v", tc.name, err)
		}
		want := ""
		if tc.refused {
			want = `{"_aws":{"Timestamp":7,"CloudWatchMetrics":[{"Namespace":"ns","Dimensions":[["JobId"]],"Metrics":[{"Name":"refused","Unit":"Count"}]}]},"JobId":"j","refused":1}` + "\n"
		}
		if out.String() != want || lambdafn.IsRefusal(tc.err) != tc.refused {
			t.Errorf("%s: metrics %q, IsRefusal %v", tc.name, out.String(), lambdafn.IsRefusal(tc.err))
		}
	}
}

func TestTimeRecordsDuration(t *testing.T) {
	now := time.UnixMilli(1000)
	var out bytes.Buffer
	d := lambdafn.Deps{Metrics: &emf.Writer{Out: &out, Namespace: "ns", Now: func() time.Time { return now }}}
	done := d.Time(context.Background(), "j")
	now = now.Add(250 * time.Millisecond)
	done()
	want := `{"_aws":{"Timestamp":1250,"CloudWatchMetrics":[{"Namespace":"ns","Dimensions":[["JobId"]],"Metrics":[{"Name":"duration","Unit":"Milliseconds"}]}]},"JobId":"j","duration":250}` + "\n"
	if out.String() != want {
		t.Errorf("got %s\nwant %s", out.String(), want)
	}
}

func TestNoMetricsRecordsNothing(t *testing.T) {
	var logs bytes.Buffer
	d := lambdafn.Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	d.Count(context.Background(), "j", lambdafn.Claimed)
	d.Time(context.Background(), "j")()
	if logs.Len() != 0 {
		t.Errorf("a nil Metrics logged %s", logs.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestUnwritableMetricIsLogged(t *testing.T) {
	var logs bytes.Buffer
	d := lambdafn.Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: &emf.Writer{Out: failingWriter{}}}
	d.Count(context.Background(), "j", lambdafn.Claimed)
	if !strings.Contains(logs.String(), `"msg":"metric not written"`) || !strings.Contains(logs.String(), `"job_id":"j"`) {
		t.Errorf("logs = %s", logs.String())
	}
}
