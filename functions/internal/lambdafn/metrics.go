package lambdafn

import (
	"context"
	"log/slog"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/emf"
)

// The metrics the functions emit, one EMF line each, with the job id as the dimension.
var (
	Claimed   = emf.Metric{Name: "claimed", Unit: emf.Count}         // claim took a lease
	Succeeded = emf.Metric{Name: "succeeded", Unit: emf.Count}       // complete marked a task succeeded
	Failed    = emf.Metric{Name: "failed", Unit: emf.Count}          // fail recorded a failure to retry
	Ignored   = emf.Metric{Name: "ignored", Unit: emf.Count}         // fail recorded the last failure
	Refused   = emf.Metric{Name: "refused", Unit: emf.Count}         // the tracker refused a step (see IsRefusal)
	Duration  = emf.Metric{Name: "duration", Unit: emf.Milliseconds} // a handler's time from its event read
)

// Count records one m for job. A metric that cannot be written is logged; it never fails the
// step it counts.
func (d Deps) Count(ctx context.Context, job string, m emf.Metric) {
	d.put(ctx, job, m, 1)
}

// Add records n of m for job.
func (d Deps) Add(ctx context.Context, job string, m emf.Metric, n int) {
	d.put(ctx, job, m, float64(n))
}

// Time starts timing a handler for job; the function it returns records Duration. Use it as
// defer h.Time(ctx, job)().
func (d Deps) Time(ctx context.Context, job string) func() {
	elapsed := d.Metrics.Start()
	return func() { d.put(ctx, job, Duration, elapsed()) }
}

// Fail is lambdafn.Fail for a step of job, counting Refused when the tracker refused it.
func (d Deps) Fail(ctx context.Context, log *slog.Logger, step, job string, err error) error {
	if IsRefusal(err) {
		d.Count(ctx, job, Refused)
	}
	return Fail(ctx, log, step, err)
}

func (d Deps) put(ctx context.Context, job string, m emf.Metric, v float64) {
	if err := d.Metrics.Put(job, m, v); err != nil && d.Log != nil {
		d.Log.WarnContext(ctx, "metric not written", "job_id", job, "metric", m.Name, "error", err.Error())
	}
}
