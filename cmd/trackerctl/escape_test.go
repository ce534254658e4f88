package main

import "testing"

func TestEscape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain ASCII is left as it is", "t-01 exec-a", "t-01 exec-a"},
		{"other non-ASCII text is left as it is", "données é ü 日本 →", "données é ü 日本 →"},
		{"a backslash is left as it is", `C:\tmp`, `C:\tmp`},
		{"an ANSI color sequence is shown, not run", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"a screen clear is shown, not run", "\x1b[H\x1b[2J", `\x1b[H\x1b[2J`},
		{"an OSC title sequence and its BEL are shown", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"line breaks and tabs are shown", "a\nb\r\tc", `a\nb\r\tc`},
		{"NUL, backspace and DEL are shown", "a\x00b\x08c\x7f", `a\x00b\x08c\x7f`},
		{"C1 controls, the 8-bit CSI among them, are shown", "a\u009b31mb\u0085", `a\u009b31mb\u0085`},
		{"a right-to-left override is shown", "invoice-\u202egnp.exe", `invoice-\u202egnp.exe`},
		{"every bidi embedding and override is shown", "\u202a\u202b\u202c\u202d\u202e", `\u202a\u202b\u202c\u202d\u202e`},
		{"every bidi isolate is shown", "\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`},
		{"characters next to the bidi ranges are left as they are", "\u2029\u202f\u2065\u206a", "\u2029\u202f\u2065\u206a"},
		{"invalid UTF-8 is shown byte by byte", "a\xffb\xc3", `a\xffb\xc3`},
		{"the empty string stays empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := escape(tc.in); got != tc.want {
				t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestEscapeLinesKeepsTheLineBreaks(t *testing.T) {
	t.Parallel()
	if got, want := escapeLines("line 1\x1b[2K\n\u202eline 2"), "line 1\\x1b[2K\n\\u202eline 2"; got != want {
		t.Errorf("escapeLines = %q, want %q", got, want)
	}
}
