// Command claim is the claim Lambda function: handler.Claim, with its dependencies built once at
// cold start from the environment (contract.Settings).
package main

import (
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/handler"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
)

func main() {
	lambdafn.Start(handler.Claim{Deps: lambdafn.Setup()}.Handle)
}
