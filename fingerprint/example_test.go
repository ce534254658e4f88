package fingerprint_test

import (
	"fmt"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
)

// Two tasks fail on the same raise of examples/python/handler.py, the second after an edit
// moved the raise a line down: one fingerprint. A task whose text is a number fails at
// another line with another exception: another fingerprint.
func ExampleCompute() {
	a := fingerprint.Compute("NoText: task t-4 has no text",
		"  File \"/var/task/handler.py\", line 17, in handler\n    raise NoText(f\"task {event['task_id']} has no text\")\n")
	b := fingerprint.Compute("NoText: task t-17 has no text",
		"  File \"/var/task/handler.py\", line 18, in handler\n    raise NoText(f\"task {event['task_id']} has no text\")\n")
	c := fingerprint.Compute("AttributeError: 'int' object has no attribute 'split'",
		"  File \"/var/task/handler.py\", line 15, in handler\n    words = len(event[\"data\"].get(\"text\", \"\").split())\n")
	for _, fp := range []fingerprint.Fingerprint{a, b, c} {
		fmt.Printf("%s  %s | %s | %v\n", fp, fp.Type, fp.Message, fp.Frames)
	}
	fmt.Println(a.String() == b.String(), a.String() == c.String())
	// Output:
	// v1:a37a1a76d0b6  NoText | task t-<num> has no text | [handler (handler.py)]
	// v1:a37a1a76d0b6  NoText | task t-<num> has no text | [handler (handler.py)]
	// v1:d77df55bd484  AttributeError | <str> object has no attribute <str> | [handler (handler.py)]
	// true false
}

// A Go worker's panic, recovered by worker.Pool with its debug.Stack(): the frames of the
// recovering function, of the panic and of the runtime are dropped, and so are the line
// numbers, the addresses and the closure's number.
func ExampleCompute_goPanic() {
	fp := fingerprint.Compute("panic: runtime error: index out of range [5] with length 3", `goroutine 7 [running]:
runtime/debug.Stack()
	/usr/local/go/src/runtime/debug/stack.go:26 +0x5e
github.com/dynamodb-tracker/dynamodb-tracker/worker.call.func1()
	/root/go/pkg/mod/github.com/dynamodb-tracker/dynamodb-tracker@v0.3.0/worker/worker.go:509 +0x45
panic({0x6a1b20?, 0xc000012345?})
	/usr/local/go/src/runtime/panic.go:787 +0x132
main.firstWord(...)
	/src/app/main.go:42
main.main.func1({0xc0000a0000, 0x10})
	/src/app/main.go:30 +0x1d
github.com/dynamodb-tracker/dynamodb-tracker/worker.call(...)
	/root/go/pkg/mod/github.com/dynamodb-tracker/dynamodb-tracker@v0.3.0/worker/worker.go:512
`)
	fmt.Println(fp)
	fmt.Println(fp.Type)
	fmt.Println(fp.Message)
	for _, f := range fp.Frames {
		fmt.Println(f)
	}
	// Output:
	// v1:cd86b6450305
	// panic
	// runtime error: index out of range [<num>] with length <num>
	// main.firstWord (main.go)
	// main.main.func (main.go)
}

func ExampleNormalize() {
	fmt.Println(fingerprint.Normalize(`lease 00112233445566778899aabbccddeeff of task "t-4" ran out at 2026-11-29T00:43:51.185247+0000`))
	fmt.Println(fingerprint.Normalize("read s3://bucket/in/t-4.json: 503 from 10.0.0.12 after 1.5s"))
	fmt.Println(fingerprint.Normalize("open /var/task/data/t-4.json: no such file or directory"))
	// Output:
	// lease <uuid> of task <str> ran out at <time>
	// read <path>: <num> from <ip> after <duration>
	// open <path>: no such file or directory
}
