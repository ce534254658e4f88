package tracker

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// TestCompiledWritesAreTheBuiltOnes: a compiled write, filled with a call's arguments, is
// exactly what the expression builder makes of the same arguments, whichever shape came
// first and whatever the arguments hold.
func TestCompiledWritesAreTheBuiltOnes(t *testing.T) {
	tr := &Tracker{}
	codes := DefaultStatusCodes
	odd := StatusCodes{Todo: 1, InProgress: 2, Failed: 3, Succeeded: 4, Ignored: 5}
	claim := func(a claimArgs) func() (*built, *built) {
		return func() (*built, *built) { return compiledAndBuilt(t, tr, "claim", a.codes, a, claimWrite) }
	}
	complete := func(a completeArgs) func() (*built, *built) {
		return func() (*built, *built) { return compiledAndBuilt(t, tr, "complete", a.codes, a, completeWrite) }
	}
	bulk := func(op string, build func(bulkArgs) (expression.ConditionBuilder, expression.UpdateBuilder), a bulkArgs) func() (*built, *built) {
		return func() (*built, *built) { return compiledAndBuilt(t, tr, op, codes, a, build) }
	}
	for _, c := range []struct {
		name string
		both func() (compiled, built *built)
	}{
		{"claim", claim(claimArgs{job: "job", codes: codes, token: "0123abcd", owner: "worker-1", now: "2026-12-02T08:00:00.000000+0000", lockedBefore: "2026-12-02T07:45:00.000000+0000"})},
		{"another claim", claim(claimArgs{job: "other-job", codes: codes, token: "ffff", owner: "w", now: "2026-12-03T08:00:00.000000+0000", lockedBefore: "2026-12-03T07:45:00.000000+0000"})},
		{"a claim without owner", claim(claimArgs{job: "job", codes: codes, token: "0123abcd", now: "2026-12-02T08:00:00.000000+0000", lockedBefore: "2026-12-02T07:45:00.000000+0000"})},
		{"a claim under other codes", claim(claimArgs{job: "job", codes: odd, token: "0123abcd", owner: "worker-1", now: "2026-12-02T08:00:00.000000+0000", lockedBefore: "2026-12-02T07:45:00.000000+0000"})},
		{"an owner holding a placeholder's text", claim(claimArgs{job: "job", codes: codes, token: "t", owner: "\x001\x00 and \x00", now: "now", lockedBefore: "then"})},
		{"a claim of a sharded job's task", claim(claimArgs{job: "job", suffix: "____07", codes: codes, token: "0123abcd", owner: "worker-1", now: "2026-12-02T08:00:00.000000+0000", lockedBefore: "2026-12-02T07:45:00.000000+0000"})},
		{"complete", complete(completeArgs{job: "job", codes: codes, token: "0123abcd", now: "2026-12-02T08:00:00.000000+0000"})},
		{"complete with data", complete(completeArgs{job: "job", codes: codes, token: "0123abcd", now: "2026-12-02T08:00:00.000000+0000", data: `{"n":1}`})},
		{"complete of a sharded job's task", complete(completeArgs{job: "job", suffix: "____31", codes: codes, token: "0123abcd", now: "2026-12-02T08:00:00.000000+0000", data: `{"n":1}`})},
		{"a bulk retry by status", bulk("bulk-retry", bulkRetryWrite, bulkArgs{listed: "job____06", updated: "2026-12-02T07:00:00.000000+0000", lockedBefore: "2026-12-02T07:45:00.000000+0000", now: "2026-12-02T08:00:00.000000+0000", value: "job____00"})},
		{"a bulk retry by failure", bulk("bulk-retry", bulkRetryWrite, bulkArgs{listed: "job____06", updated: "2026-12-02T07:00:00.000000+0000", failureKey: "k", lockedBefore: "2026-12-02T07:45:00.000000+0000", now: "2026-12-02T08:00:00.000000+0000", value: "job____00"})},
		{"a bulk ignore", bulk("bulk-ignore", bulkIgnoreWrite, bulkArgs{listed: "job____06", updated: "2026-12-02T07:00:00.000000+0000", lockedBefore: "2026-12-02T07:45:00.000000+0000", now: "2026-12-02T08:00:00.000000+0000", value: "job____10", failurePart: "job____10____00"})},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, want := c.both(); !reflect.DeepEqual(got, want) {
				t.Errorf("compiled\n%+v\nbuilt\n%+v", got, want)
			}
		})
	}

	// An argument the template could not fill is refused when the shape is first built.
	_, err := compile(tr, "numeric", codes, numericArgs{n: "3"}, func(a numericArgs) (expression.ConditionBuilder, expression.UpdateBuilder) {
		return expression.Name("n").Equal(expression.Value(len(a.n))), expression.Set(expression.Name("m"), expression.Value(1))
	})
	if err == nil || err.Error() != "numeric: argument 0 is in no string value" {
		t.Errorf("an argument in no string value: %v", err)
	}
}

// compiledAndBuilt returns the compiled write of args and what the builder makes of them.
func compiledAndBuilt[A any, P writeArgs[A]](t *testing.T, tr *Tracker, op string, codes StatusCodes, args A, build func(A) (expression.ConditionBuilder, expression.UpdateBuilder)) (got, want *built) {
	t.Helper()
	got, err := compile[A, P](tr, op, codes, args, build)
	if err != nil {
		t.Fatal(err)
	}
	cond, update := build(args)
	e, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
	if err != nil {
		t.Fatal(err)
	}
	want = &built{cond: e.Condition(), update: e.Update(), names: e.Names(), values: e.Values()}
	return got, want
}

// numericArgs has a string that a write puts in a number.
type numericArgs struct{ n string }

func (a *numericArgs) strings() []*string { return []*string{&a.n} }

// BenchmarkWriteExpressions weighs what compiling saves the client: a claim's and a
// completion's expressions per task, compiled (filled into templates) and built anew with the
// expression builder, as Claim and Complete would without templates. The allocations are
// exact; the time is the client's CPU per task, which a pool shares with DynamoDB Local here.
func BenchmarkWriteExpressions(b *testing.B) {
	codes := DefaultStatusCodes
	claim := claimArgs{job: "job", codes: codes, token: "0123456789abcdef0123456789abcdef", owner: "pool-0/12",
		now: "2026-12-02T08:00:00.000000+0000", lockedBefore: "2026-12-02T07:45:00.000000+0000"}
	complete := completeArgs{job: "job", codes: codes, token: claim.token, now: claim.now}
	b.Run("compiled", func(b *testing.B) {
		tr := &Tracker{}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := compile(tr, "claim", codes, claim, claimWrite); err != nil {
				b.Fatal(err)
			}
			if _, err := compile(tr, "complete", codes, complete, completeWrite); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("built", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, w := range []func() (expression.ConditionBuilder, expression.UpdateBuilder){
				func() (expression.ConditionBuilder, expression.UpdateBuilder) { return claimWrite(claim) },
				func() (expression.ConditionBuilder, expression.UpdateBuilder) { return completeWrite(complete) },
			} {
				cond, update := w()
				if _, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
