// Package emf writes CloudWatch Embedded Metric Format lines: one JSON object per line, which
// CloudWatch Logs turns into metrics when it sees the "_aws" key. Each line carries one metric
// of one job, with the job id as its only dimension.
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// DefaultNamespace is the CloudWatch namespace when none is configured.
const DefaultNamespace = "dynamodb-tracker"

// Unit is a CloudWatch metric unit.
type Unit string

// The units the tracker's metrics use.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Metric names a metric and its unit.
type Metric struct {
	Name string
	Unit Unit
}

// Encode returns the EMF line (ending in a newline) that records value of m for job at t in
// namespace. A metric named like a key the line already holds ("_aws", "JobId") is refused.
func Encode(t time.Time, namespace, job string, m Metric, value float64) ([]byte, error) {
	if m.Name == "" || m.Name == "_aws" || m.Name == "JobId" {
		return nil, fmt.Errorf("emf: metric name %q is empty or a key of the line", m.Name)
	}
	type directive struct {
		Namespace  string     `json:"Namespace"`
		Dimensions [][]string `json:"Dimensions"`
		Metrics    []Metric   `json:"Metrics"`
	}
	aws, err := json.Marshal(struct {
		Timestamp         int64       `json:"Timestamp"`
		CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
	}{t.UnixMilli(), []directive{{namespace, [][]string{{"JobId"}}, []Metric{m}}}})
	if err != nil {
		return nil, fmt.Errorf("emf: %w", err)
	}
	jobJSON, _ := json.Marshal(job)
	nameJSON, _ := json.Marshal(m.Name)
	valueJSON, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("emf: value of %s: %w", m.Name, err)
	}
	line := make([]byte, 0, len(aws)+len(jobJSON)+len(nameJSON)+len(valueJSON)+24)
	line = append(append(append(line, `{"_aws":`...), aws...), `,"JobId":`...)
	line = append(append(append(line, jobJSON...), ','), nameJSON...)
	line = append(append(append(line, ':'), valueJSON...), "}\n"...)
	return line, nil
}

// Writer writes EMF lines to Out, each in one Write so that lines from concurrent
// invocations and the log lines sharing Out do not interleave. A nil *Writer records nothing.
type Writer struct {
	Out       io.Writer
	Namespace string           // "" means DefaultNamespace
	Now       func() time.Time // nil means time.Now

	mu sync.Mutex
}

// Put writes one line recording value of m for job.
func (w *Writer) Put(job string, m Metric, value float64) error {
	if w == nil {
		return nil
	}
	ns := w.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	line, err := Encode(w.now(), ns, job, m, value)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.Out.Write(line)
	return err
}

// Start returns a function that reports the milliseconds elapsed since Start, on the
// writer's clock.
func (w *Writer) Start() func() float64 {
	start := w.now()
	return func() float64 { return float64(w.now().Sub(start)) / float64(time.Millisecond) }
}

func (w *Writer) now() time.Time {
	if w == nil || w.Now == nil {
		return time.Now()
	}
	return w.Now()
}
