// Command complete is the complete Lambda function: handler.Complete, with its dependencies built once at
// cold start from the environment (contract.Settings).
package main

import (
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/handler"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
)

func main() {
	lambdafn.Start(handler.Complete{Deps: lambdafn.Setup()}.Handle)
}
