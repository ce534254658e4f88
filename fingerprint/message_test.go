package fingerprint_test

import (
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ name, message, want string }{
		{"numbers in ids, counts and decimals", "task t-4 failed after 3 attempts (2.5 per s)", "task t-<num> failed after <num> attempts (<num> per s)"},
		{"digits inside a word stay", "x86_64 s3 e2e utf8 file-0005", "x86_64 s3 e2e utf8 file-<num>"},
		{"versions", "boto3 1.34.2 needs v2.0.1, v1 is too old", "boto3 <num> needs <num>, v1 is too old"},
		{"single quotes, not apostrophes", "can't read 'text' of the task's data", "can't read <str> of the task's data"},
		{"double quotes and backquotes", "parsing \"t-4\": invalid syntax in `f(x)`", "parsing <str>: invalid syntax in <str>"},
		{"Python repr of a dict", "bad input {'a': 1, 'b': 'x'}", "bad input {<str>: <num>, <str>: <str>}"},
		{"an unclosed quote stays", "it's 'open", "it's 'open"},
		{"unix paths", "open /var/task/data/t-4.json: no such file or directory", "open <path>: no such file or directory"},
		{"relative and home paths", "read ./cfg/app.yaml and ~/.aws/config and ../x", "read <path> and <path> and <path>"},
		{"windows paths", `open C:\Users\bob\t-4.json: access denied`, "open <path>: access denied"},
		{"not a path: and/or, HTTP/1.1", "and/or HTTP/1.1", "and/or HTTP/<num>"},
		{"URLs of any scheme", "get s3://bucket/in/t-4.json, file:///tmp/x and https://api.example.com/v1/t?id=4.", "get <path>, <path> and <path>."},
		{"emails", "no user bob.smith+x@example.co.uk", "no user <email>"},
		{"RFC 3339 and the tracker's time", "at 2026-11-29T00:43:51Z, 2026-11-29T00:43:51.185+01:00 and 2026-11-29T00:43:51.185247+0000", "at <time>, <time> and <time>"},
		{"Go's time.Time, dates and clock times", "at 2026-11-29 00:43:51.185247 +0000 UTC on 2026-11-29 at 00:43:51", "at <time> on <time> at <time>"},
		{"UUIDs with and without dashes", "request 8c3e4d1a-1b2c-4d5e-8f90-123456789abc lease 00112233445566778899aabbccddeeff", "request <uuid> lease <uuid>"},
		{"IPv4 and IPv6 addresses", "dial tcp 10.0.0.12:443 and [::1]:8000 and fe80::1ff:fe23:4567:890a", "dial tcp <ip>:<num> and [<ip>]:<num> and <ip>"},
		{"not an address: Type::method", "in Type::method", "in Type::method"},
		{"hex", "at 0xc000012345, object 3fa9c2d41b7e, ETAG ABCDEF12", "at <hex>, object <hex>, ETAG <hex>"},
		{"not hex: words, mixed case, digits only", "deadbeef accede DeadBeef12 1234567890", "deadbeef accede DeadBeef12 <num>"},
		{"durations", "timed out after 1.5s (limit 300ms, 2h45m0s)", "timed out after <duration> (limit <duration>, <duration>)"},
		{"whitespace collapsed and trimmed", "  a\tb\n\n c  ", "a b c"},
		{"control characters removed", "a\x00b\x7fc\u0085d", "abc d"},
		{"terminal escapes removed", "\x1b[31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07", "red link"},
		{"bidi controls removed", "abc\u202edef\u202c \u2066g\u2069", "abcdef g"},
		{"invalid UTF-8 replaced", "a\xffb", "a\uFFFDb"},
		{"cut to 256 runes", strings.Repeat("é", 300), strings.Repeat("é", 256)},
		{"empty", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fingerprint.Normalize(c.message); got != c.want {
				t.Errorf("Normalize(%q) = %q, want %q", c.message, got, c.want)
			}
		})
	}
}
