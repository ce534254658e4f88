// Command fail is the fail Lambda function: handler.Fail, with its dependencies built once at
// cold start from the environment (contract.Settings).
package main

import (
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/handler"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
)

func main() {
	lambdafn.Start(handler.Fail{Deps: lambdafn.Setup()}.Handle)
}
