package console

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// The console's figures on DynamoDB Local (make bench runs them once: -bench ConsolePages
// -benchtime 1x; b.N is not used). CONSOLE_BENCH_TASKS sets the big jobs' sizes
// (default 1000,10000,100000).
//
// A page answers with what it reads itself (the registry, a job's item, a page of tasks)
// and the counts and error groups of the jobs it shows as last read: those are read in the
// background, and a page waits for them at most Config.Wait. So a page's time does not
// depend on the size of its job; the time a job's counts take to appear does, and is
// measured too (a Snapshot reads every task's index entry: no Scan, but all of them).

// benchSizes are the sizes of the big jobs.
func benchSizes(b *testing.B) []int {
	spec := os.Getenv("CONSOLE_BENCH_TASKS")
	if spec == "" {
		spec = "1000,10000,100000"
	}
	var out []int
	for _, s := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 100 {
			b.Fatalf("CONSOLE_BENCH_TASKS=%q: want sizes of at least 100, comma-separated", spec)
		}
		out = append(out, n)
	}
	return out
}

// benchJobs is how many jobs the registry holds: the big ones and small ones of a task each.
const benchJobs = 1000

// benchShards is the big jobs' shards (CONSOLE_BENCH_SHARDS; 1, the seed's layout, by
// default).
func benchShards(b *testing.B) int {
	spec := os.Getenv("CONSOLE_BENCH_SHARDS")
	if spec == "" {
		return 1
	}
	n, err := strconv.Atoi(spec)
	if err != nil || n < 1 || n > tracker.MaxShards {
		b.Fatalf("CONSOLE_BENCH_SHARDS=%q: want 1 to %d", spec, tracker.MaxShards)
	}
	return n
}

// seedBig creates job with n tasks over shards, 1% of them failed over 5 fingerprints, with
// 16 writers.
func seedBig(b *testing.B, tr *tracker.Tracker, job string, n, shards int) {
	b.Helper()
	ctx := context.Background()
	if _, err := tr.CreateJob(ctx, job, tracker.JobOptions{Shards: shards}); err != nil {
		b.Fatal(err)
	}
	const batch = 5000
	var wg sync.WaitGroup
	errs := make(chan error, n/batch+1)
	sem := make(chan struct{}, 4)
	for start := 0; start < n; start += batch {
		tasks := make([]tracker.NewTask, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%07d", i), Data: []byte(`{"path":"s3://bucket/in/file.json"}`)})
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	failed := n / 100
	ids := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range ids {
				id := fmt.Sprintf("t-%07d", i*100)
				l, err := tr.Claim(ctx, job, id, "bench")
				if err == nil {
					g := i % 5
					_, err = tr.Fail(ctx, *l, tracker.Failure{Error: fmt.Sprintf("Error%d: %s could not be read", g, id),
						Traceback: fmt.Sprintf("Traceback (most recent call last):\n  File \"/var/task/handler.py\", line %d, in handler\n", 10+g)})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range failed {
		ids <- i
	}
	close(ids)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// seedSmall registers jobs small-NNNN, a task each, with 16 writers.
func seedSmall(b *testing.B, tr *tracker.Tracker, n int) {
	b.Helper()
	ids := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range ids {
				if _, err := tr.CreateTasks(context.Background(), fmt.Sprintf("small-%04d", i), []tracker.NewTask{{ID: "t-1"}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// timeGet fetches path and returns how long the answer took and its body.
func timeGet(b *testing.B, c *running, path string) (time.Duration, string) {
	b.Helper()
	start := time.Now()
	resp, err := http.Get(c.base + path)
	if err != nil {
		b.Fatal(err)
	}
	p := readPage(b, resp)
	took := time.Since(start)
	if p.status != http.StatusOK {
		b.Fatalf("GET %s: status %d", path, p.status)
	}
	return took, p.body
}

// warm is the median time of path over 15 gets, and the DynamoDB calls one get makes.
func warm(b *testing.B, c *running, counter *dynamotest.Counter, path string) (time.Duration, map[string]int) {
	b.Helper()
	var times []time.Duration
	for range 15 {
		took, _ := timeGet(b, c, path)
		times = append(times, took)
	}
	counter.Reset()
	timeGet(b, c, path)
	calls := counter.Calls()
	slices.Sort(times)
	return times[len(times)/2], calls
}

// waitCounted waits until the console holds counts and groups of job read after since, and
// returns how long the counts' read took.
func waitCounted(b *testing.B, c *running, job string, since time.Time) time.Duration {
	b.Helper()
	deadline := time.Now().Add(30 * time.Minute)
	for {
		counts, groups := c.srv.counts.peek(job), c.srv.failures.peek(job)
		if counts.Has && groups.Has && !counts.At.Before(since) && !groups.At.Before(since) {
			return counts.Took
		}
		if counts.Err != nil && !counts.Reading {
			b.Fatalf("job %s: its counts could not be read in %s: %v", job, counts.Took.Round(time.Second), counts.Err)
		}
		if time.Now().After(deadline) {
			b.Fatalf("job %s: counts not read after 30 minutes", job)
		}
		time.Sleep(10 * time.Millisecond) // a poll's interval
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkConsolePages: a registry of 1,000 jobs, the largest of CONSOLE_BENCH_TASKS tasks;
// each page's time at first view (counts not read yet: it waits Config.Wait at most) and
// warm (the median of 15), the DynamoDB calls a warm page makes, and how long a big job's
// counts take to read in the background. No page, and no background read, scans the table.
func BenchmarkConsolePages(b *testing.B) {
	sizes, shards := benchSizes(b), benchShards(b)
	counter := &dynamotest.Counter{}
	tr, _ := trackertest.New(b, tracker.Config{}, counter.Option())
	start := time.Now()
	for _, n := range sizes {
		seedBig(b, tr, fmt.Sprintf("big-%d", n), n, shards)
	}
	seedSmall(b, tr, benchJobs-len(sizes))
	total := 0
	for _, n := range sizes {
		total += n
	}
	b.Logf("seeded %d jobs, %d tasks (the big jobs in %d shards), in %s", benchJobs, total+benchJobs-len(sizes), shards, time.Since(start).Round(time.Second))
	c := serve(b, Config{Tracker: tr})
	counter.Reset()

	b.Logf("%-34s %10s %10s %14s  %s", "page", "first, ms", "warm, ms", "counts read in", "a warm page's DynamoDB calls")
	for _, n := range sizes {
		job := fmt.Sprintf("big-%d", n)
		path := jobURL(job)
		began := time.Now()
		cold, _ := timeGet(b, c, path)
		b.Logf("%-34s %10.0f", "job "+job, ms(cold))
		took := waitCounted(b, c, job, began)
		w, calls := warm(b, c, counter, path)
		_, body := timeGet(b, c, path)
		if want := fmt.Sprintf(`<b class="total">%s</b> tasks`, num(n)); !strings.Contains(body, want) {
			b.Fatalf("job page of %s lacks %q", job, want)
		}
		b.Logf("%-34s %10.0f %10.1f %13.2fs  %v", "job "+job, ms(cold), ms(w), took.Seconds(), calls)
		b.ReportMetric(ms(cold), fmt.Sprintf("job-%d-first-ms", n))
		b.ReportMetric(ms(w), fmt.Sprintf("job-%d-warm-ms", n))
		b.ReportMetric(took.Seconds(), fmt.Sprintf("counts-%d-s", n))
		if n == sizes[len(sizes)-1] {
			b.ReportMetric(float64(n)/took.Seconds(), "counted-tasks/s")
		}
	}
	for _, p := range []struct{ name, metric, path string }{
		{"jobs (1,000; 50 a page)", "jobs", "/"},
		{"jobs sorted by tasks (all counted)", "jobs-sorted", "/?sort=tasks&dir=desc"},
	} {
		began := time.Now()
		cold, _ := timeGet(b, c, p.path)
		waitAll(b, c, p.path == "/", began)
		w, calls := warm(b, c, counter, p.path)
		b.Logf("%-34s %10.0f %10.1f %14s  %v", p.name, ms(cold), ms(w), "", calls)
		b.ReportMetric(ms(cold), p.metric+"-first-ms")
		b.ReportMetric(ms(w), p.metric+"-warm-ms")
	}
	if n := counter.Calls()["Scan"]; n != 0 {
		b.Errorf("%d Scans", n)
	}
}

// waitAll waits until the console holds counts read after since of the first page's jobs
// (firstPage) or of every job.
func waitAll(b *testing.B, c *running, firstPage bool, since time.Time) {
	b.Helper()
	reg, err := c.srv.tr.Jobs(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	jobs := reg.Jobs
	if firstPage {
		jobs = jobs[:min(len(jobs), c.srv.cfg.PageSize)]
	}
	deadline := time.Now().Add(30 * time.Minute)
	for _, j := range jobs {
		for {
			r := c.srv.counts.peek(j.JobID)
			if r.Has && (!r.At.Before(since) || !r.Reading) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("job %s: counts not read after 30 minutes", j.JobID)
			}
			time.Sleep(10 * time.Millisecond) // a poll's interval
		}
	}
}
