package emf_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/emf"
)

func TestEncode(t *testing.T) {
	at := time.UnixMilli(1764633600123)
	tests := []struct {
		name, namespace, job string
		metric               emf.Metric
		value                float64
		want                 string
	}{
		{"a count", "dynamodb-tracker", "job-1", emf.Metric{Name: "claimed", Unit: emf.Count}, 1,
			`{"_aws":{"Timestamp":1764633600123,"CloudWatchMetrics":[{"Namespace":"dynamodb-tracker","Dimensions":[["JobId"]],"Metrics":[{"Name":"claimed","Unit":"Count"}]}]},"JobId":"job-1","claimed":1}`},
		{"a duration in milliseconds", "ns", "job-1", emf.Metric{Name: "duration", Unit: emf.Milliseconds}, 12.5,
			`{"_aws":{"Timestamp":1764633600123,"CloudWatchMetrics":[{"Namespace":"ns","Dimensions":[["JobId"]],"Metrics":[{"Name":"duration","Unit":"Milliseconds"}]}]},"JobId":"job-1","duration":12.5}`},
		{"a job id with quotes, a backslash and unicode stays one JSON string", "ns", "j\"ob\\é😀\n", emf.Metric{Name: "failed", Unit: emf.Count}, 1,
			`{"_aws":{"Timestamp":1764633600123,"CloudWatchMetrics":[{"Namespace":"ns","Dimensions":[["JobId"]],"Metrics":[{"Name":"failed","Unit":"Count"}]}]},"JobId":"j\"ob\\é😀\n","failed":1}`},
	}
	for _, tc := range tests {
		line, err := emf.Encode(at, tc.namespace, tc.job, tc.metric, tc.value)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(line) != tc.want+"\n" {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, line, tc.want)
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil || rec["JobId"] != tc.job || rec[tc.metric.Name] != tc.value {
			t.Errorf("%s: line decodes to %v, %v", tc.name, rec, err)
		}
	}
}

func TestEncodeRefusesNamesThatCollide(t *testing.T) {
	for _, name := range []string{"", "_aws", "JobId"} {
		if _, err := emf.Encode(time.Now(), "ns", "j", emf.Metric{Name: name, Unit: emf.Count}, 1); err == nil {
			t.Errorf("metric name %q was accepted", name)
		}
	}
}

func TestWriter(t *testing.T) {
	at := time.UnixMilli(1000)
	var out bytes.Buffer
	w := &emf.Writer{Out: &out, Now: func() time.Time { return at }}
	if err := w.Put("j", emf.Metric{Name: "claimed", Unit: emf.Count}, 1); err != nil {
		t.Fatal(err)
	}
	want := `{"_aws":{"Timestamp":1000,"CloudWatchMetrics":[{"Namespace":"dynamodb-tracker","Dimensions":[["JobId"]],"Metrics":[{"Name":"claimed","Unit":"Count"}]}]},"JobId":"j","claimed":1}` + "\n"
	if out.String() != want {
		t.Errorf("an empty namespace is the default:\n got %s\nwant %s", out.String(), want)
	}
	elapsed := w.Start()
	at = at.Add(1500 * time.Microsecond)
	if got := elapsed(); got != 1.5 {
		t.Errorf("elapsed = %v ms, want 1.5", got)
	}
	var none *emf.Writer
	if err := none.Put("j", emf.Metric{Name: "claimed", Unit: emf.Count}, 1); err != nil {
		t.Errorf("a nil Writer: %v", err)
	}
}

func TestWriterKeepsLinesWhole(t *testing.T) {
	var out bytes.Buffer
	w := &emf.Writer{Out: &out}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { _ = w.Put(strings.Repeat("j", 100), emf.Metric{Name: "claimed", Unit: emf.Count}, 1) })
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line is not JSON: %s", l)
		}
	}
	if len(lines) != 50 {
		t.Errorf("%d lines, want 50", len(lines))
	}
}
