package tracker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestLeasesTolerateClockSkew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		skew     time.Duration // Config.ClockSkew
		takeover time.Duration // how long after the claim another worker may take the task
	}{
		{"the default allows 30 seconds", 0, tracker.DefaultLeaseDuration + 30*time.Second},
		{"a configured skew", 2 * time.Minute, tracker.DefaultLeaseDuration + 2*time.Minute},
		{"a negative skew allows none", -1, tracker.DefaultLeaseDuration},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tracker.Config{ClockSkew: tc.skew})
			e.create(t, "t", "")
			lease := e.claim(t, "t", "w1")
			if !lease.Expires.Equal(e.clock.Now().Add(tracker.DefaultLeaseDuration)) {
				t.Errorf("lease expires %v: the holder's own lease is LeaseDuration long", lease.Expires)
			}
			e.clock.Advance(tc.takeover - time.Microsecond)
			if p, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true}); err != nil || len(p.Tasks) != 0 {
				t.Errorf("Pending just before the takeover time = %+v, %v", p, err)
			}
			_, err := e.tr.Claim(ctx, job, "t", "w2")
			if ce := wantConflict(t, err, tracker.ErrTaskLocked); !ce.LockExpires.Equal(lease.Task.LockTime.Add(tc.takeover)) {
				t.Errorf("refusal says the lock is live until %v, want %v", ce.LockExpires, lease.Task.LockTime.Add(tc.takeover))
			}
			e.clock.Advance(time.Microsecond)
			if p, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true}); err != nil || len(p.Tasks) != 1 {
				t.Errorf("Pending at the takeover time = %+v, %v", p, err)
			}
			if l := e.claim(t, "t", "w2"); l.Retry != 1 {
				t.Errorf("takeover lease = %+v", l)
			}
		})
	}
}

func TestExtendNeverMovesTheLockTimeBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	ahead := 20 * time.Second
	cfg := e.tr.Config()
	cfg.Now = func() time.Time { return e.clock.Now().Add(ahead) }
	fast, err := tracker.New(e.db, cfg) // a worker whose clock runs 20 s ahead
	if err != nil {
		t.Fatal(err)
	}
	e.create(t, "t", "")
	lease := e.claim(t, "t", "w")
	e.clock.Advance(time.Minute)
	byFast, err := fast.Extend(ctx, *lease)
	if err != nil {
		t.Fatal(err)
	}
	stamped := e.clock.Now().Add(ahead)
	if !byFast.Task.LockTime.Equal(stamped) || !byFast.Expires.Equal(stamped.Add(tracker.DefaultLeaseDuration)) {
		t.Fatalf("extension by the fast clock = lock time %v, expires %v", byFast.Task.LockTime, byFast.Expires)
	}
	e.clock.Advance(5 * time.Second) // still 15 s before the lock time the fast clock wrote
	bySlow, err := e.tr.Extend(ctx, *byFast)
	if err != nil {
		t.Fatalf("Extend from a clock behind the stored lock time = %v, want the lease as stored", err)
	}
	if !bySlow.Task.LockTime.Equal(stamped) || !bySlow.Expires.Equal(byFast.Expires) {
		t.Errorf("extension by the slow clock = lock time %v, expires %v; want them left at %v, %v",
			bySlow.Task.LockTime, bySlow.Expires, stamped, byFast.Expires)
	}
	if got, _ := e.tr.Get(ctx, job, "t"); !got.LockTime.Equal(stamped) {
		t.Errorf("stored lock time = %v, want %v", got.LockTime, stamped)
	}
	e.clock.Advance(time.Minute) // now past the stored lock time: Extend moves it forward again
	again, err := e.tr.Extend(ctx, *bySlow)
	if err != nil || !again.Task.LockTime.Equal(e.clock.Now()) {
		t.Errorf("Extend = %+v, %v; want lock time %v", again, err, e.clock.Now())
	}
}

// TestRefusalReadsTheClaimsOwnTime: a claim refused because the task was not due is refused
// as ErrTaskNotDue even when the task falls due between the write and the explanation: this
// tracker's clock jumps an hour once its write is answered, as a slow answer would.
func TestRefusalReadsTheClaimsOwnTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	e.create(t, "t", "")
	lease := e.claim(t, "t", "w1")
	if _, err := e.tr.ReleaseFor(ctx, *lease, time.Minute); err != nil {
		t.Fatal(err)
	}
	var answered atomic.Bool
	db := dynamodb.New(e.db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("jump", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if awsmiddleware.GetOperationName(ctx) == "UpdateItem" {
					answered.Store(true)
				}
				return out, md, err
			}), middleware.After)
		})
	})
	cfg := e.tr.Config()
	cfg.Now = func() time.Time {
		if answered.Load() {
			return e.clock.Now().Add(time.Hour)
		}
		return e.clock.Now()
	}
	jumpy, err := tracker.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = jumpy.Claim(ctx, job, "t", "w2")
	if ce := wantConflict(t, err, tracker.ErrTaskNotDue); !ce.Task.RetryAt.Equal(e.clock.Now().Add(time.Minute)) {
		t.Errorf("refusal's task is due at %v, want a minute on", ce.Task.RetryAt)
	}
	if !answered.Load() {
		t.Error("the claim wrote nothing: the clock never jumped")
	}
}
