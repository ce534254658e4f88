package visible_test

import (
	"fmt"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/visible"
)

func TestStringAndLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, str, lines string }{
		{"plain é 😀", "plain é 😀", "plain é 😀"},
		{"a\nb\tc\rd", `a\nb\tc\rd`, "a\nb\tc\\rd"},
		{"\x1b[31mred\x7f", `\x1b[31mred\x7f`, `\x1b[31mred\x7f`},
		{"\u009b1m", `\u009b1m`, `\u009b1m`},
		{"id\u202etxt.exe", `id\u202etxt.exe`, `id\u202etxt.exe`},
		{"x\u2066y\u2069", `x\u2066y\u2069`, `x\u2066y\u2069`},
		{"mark\u200e\u200f\u061c", `mark\u200e\u200f\u061c`, `mark\u200e\u200f\u061c`},
		{"bad\xff\xfe", `bad\xff\xfe`, `bad\xff\xfe`},
	} {
		if got := visible.String(tc.in); got != tc.str {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.str)
		}
		if got := visible.Lines(tc.in); got != tc.lines {
			t.Errorf("Lines(%q) = %q, want %q", tc.in, got, tc.lines)
		}
	}
}

func ExampleString() {
	fmt.Println(visible.String("task-\x1b]0;pwned\x07 \u202eexe.txt"))
	// Output: task-\x1b]0;pwned\x07 \u202eexe.txt
}
