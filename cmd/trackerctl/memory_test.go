package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// heapSampler records the live heap each time it is written to: the progress bar writes
// once before the first batch and once after each, so it sees the heap at every batch
// boundary, where a streaming enqueue holds one batch and a reading-it-all one holds the
// whole input.
type heapSampler struct {
	samples  int
	peakLive uint64
}

func (h *heapSampler) Write(p []byte) (int, error) {
	if len(p) > 0 && p[0] == '\r' {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.samples++
		h.peakLive = max(h.peakLive, m.HeapAlloc)
	}
	return len(p), nil
}

// TestEnqueueMemory enqueues a generated input much larger than one batch and checks that
// the live heap at every batch boundary stays far below the input's size. It is not
// parallel, so that other tests' allocations stay out of the figures.
func TestEnqueueMemory(t *testing.T) {
	const (
		tasks    = 8000
		dataSize = 5000
	)
	f := newFixture(t, true)
	path := filepath.Join(t.TempDir(), "big.jsonl")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(file)
	pad := strings.Repeat("x", dataSize)
	for i := range tasks {
		fmt.Fprintf(w, "{\"task_id\": \"t-%06d\", \"data\": {\"i\": %d, \"pad\": %q}}\n", i, i, pad)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sampler := &heapSampler{}
	c := f.cli()
	c.stderrTTY, c.stderrTee = true, sampler
	c.run(t, "enqueue", job, path, "--batch", "500").wantCode(t, exitOK)
	runtime.ReadMemStats(&after)

	growth := int64(sampler.peakLive) - int64(before.HeapAlloc)
	t.Logf("input %.1f MB (%d tasks of %d bytes of data); live heap before %.1f MB, peak at a batch boundary %.1f MB (+%.1f MB) over %d samples; "+
		"heap obtained from the OS %.1f MB before, %.1f MB after; %.1f MB allocated in all",
		mb(uint64(fi.Size())), tasks, dataSize, mb(before.HeapAlloc), mb(sampler.peakLive), float64(growth)/(1<<20), sampler.samples,
		mb(before.HeapSys), mb(after.HeapSys), mb(after.TotalAlloc-before.TotalAlloc))
	if sampler.samples != tasks/500+1 {
		t.Errorf("%d heap samples, want one per progress update (%d)", sampler.samples, tasks/500+1)
	}
	if limit := fi.Size() / 4; growth > limit {
		t.Errorf("the live heap grew by %.1f MB while enqueueing a %.1f MB input: want under %.1f MB (a quarter of the input)",
			float64(growth)/(1<<20), mb(uint64(fi.Size())), mb(uint64(limit)))
	}
	counts, err := f.tr.Count(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if counts[tracker.Todo] != tasks {
		t.Errorf("%d todo tasks in the table, want %d (counts %v)", counts[tracker.Todo], tasks, counts)
	}
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }
