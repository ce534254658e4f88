// Command printversion prints version.Get, for the test of the linker flag.
package main

import (
	"fmt"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/version"
)

func main() { fmt.Println(version.Get()) }
