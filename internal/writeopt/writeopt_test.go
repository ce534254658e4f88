package writeopt

import (
	"context"
	"testing"
)

func TestTaskWanted(t *testing.T) {
	for _, c := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"a plain context wants the task", context.Background(), true},
		{"WithoutTask wants none", WithoutTask(context.Background()), false},
		{"a context derived from WithoutTask wants none", context.WithoutCancel(WithoutTask(context.Background())), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := TaskWanted(c.ctx); got != c.want {
				t.Errorf("TaskWanted = %v, want %v", got, c.want)
			}
		})
	}
}
