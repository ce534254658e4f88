package fingerprint_test

import (
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
)

// BenchmarkCompute measures Compute on the stored real failures, and on a 1 MB message of
// the worst kind (of which it reads 64 KiB).
func BenchmarkCompute(b *testing.B) {
	for _, name := range []string{"python-notext.txt", "node-notext.txt", "go-panic.txt"} {
		s := readStored(b, name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				fingerprint.Compute(s.Error, s.Traceback)
			}
		})
	}
	b.Run("1 MB message", func(b *testing.B) {
		b.SetBytes(int64(len(megabyte)))
		for b.Loop() {
			fingerprint.Compute("ValueError: "+megabyte, "")
		}
	})
	b.Run("1 MB Normalize, 64 KiB read", func(b *testing.B) {
		for b.Loop() {
			fingerprint.Normalize(megabyte)
		}
	})
}
