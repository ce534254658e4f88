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
	for _, c := range []struct {
		name  string
		op    string
		codes StatusCodes
		build func([]string) (expression.ConditionBuilder, expression.UpdateBuilder)
		args  []string
	}{
		{"claim", "claim", codes, claimWrite(codes), []string{"job", "0123abcd", "worker-1", "2026-12-02T08:00:00.000000+0000", "2026-12-02T07:45:00.000000+0000", ""}},
		{"another claim", "claim", codes, claimWrite(codes), []string{"other-job", "ffff", "w", "2026-12-03T08:00:00.000000+0000", "2026-12-03T07:45:00.000000+0000", ""}},
		{"a claim without owner", "claim", codes, claimWrite(codes), []string{"job", "0123abcd", "", "2026-12-02T08:00:00.000000+0000", "2026-12-02T07:45:00.000000+0000", ""}},
		{"a claim under other codes", "claim", odd, claimWrite(odd), []string{"job", "0123abcd", "worker-1", "2026-12-02T08:00:00.000000+0000", "2026-12-02T07:45:00.000000+0000", ""}},
		{"an owner holding a placeholder's text", "claim", codes, claimWrite(codes), []string{"job", "t", "\x001\x00 and \x00", "now", "then", ""}},
		{"a claim of a sharded job's task", "claim", codes, claimWrite(codes), []string{"job", "0123abcd", "worker-1", "2026-12-02T08:00:00.000000+0000", "2026-12-02T07:45:00.000000+0000", "____07"}},
		{"complete", "complete", codes, completeWrite(codes), []string{"job", "0123abcd", "2026-12-02T08:00:00.000000+0000", "", ""}},
		{"complete with data", "complete", codes, completeWrite(codes), []string{"job", "0123abcd", "2026-12-02T08:00:00.000000+0000", `{"n":1}`, ""}},
		{"complete of a sharded job's task", "complete", codes, completeWrite(codes), []string{"job", "0123abcd", "2026-12-02T08:00:00.000000+0000", `{"n":1}`, "____31"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := tr.compiled(c.op, c.codes, c.args, c.build)
			if err != nil {
				t.Fatal(err)
			}
			cond, update := c.build(c.args)
			e, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
			if err != nil {
				t.Fatal(err)
			}
			want := &built{cond: e.Condition(), update: e.Update(), names: e.Names(), values: e.Values()}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("compiled\n%+v\nbuilt\n%+v", got, want)
			}
		})
	}

	// An argument the template could not fill is refused when the shape is first built.
	_, err := tr.compiled("numeric", codes, []string{"3"}, func(a []string) (expression.ConditionBuilder, expression.UpdateBuilder) {
		return expression.Name("n").Equal(expression.Value(len(a[0]))), expression.Set(expression.Name("m"), expression.Value(1))
	})
	if err == nil || err.Error() != "numeric: argument 0 is in no string value" {
		t.Errorf("an argument in no string value: %v", err)
	}
}
