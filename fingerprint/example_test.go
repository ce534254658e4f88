package fingerprint_test

import (
	"fmt"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
)

func ExampleNormalize() {
	fmt.Println(fingerprint.Normalize(`lease 00112233445566778899aabbccddeeff of task "t-4" ran out at 2026-11-29T00:43:51.185247+0000`))
	fmt.Println(fingerprint.Normalize("read s3://bucket/in/t-4.json: 503 from 10.0.0.12 after 1.5s"))
	fmt.Println(fingerprint.Normalize("open /var/task/data/t-4.json: no such file or directory"))
	// Output:
	// lease <uuid> of task <str> ran out at <time>
	// read <path>: <num> from <ip> after <duration>
	// open <path>: no such file or directory
}
