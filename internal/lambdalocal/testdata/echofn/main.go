// Command echofn is the test Lambda of package lambdalocal. It answers its event
// {"echo":..} with {"echo":..,"function":..,"arn":..,"pid":..} and, as the event asks,
// writes a file first ("touch", so a test knows it started), sleeps ("sleep_ms"), returns
// an error ("fail"), panics ("panic"), exits ("exit") or reports an environment variable
// ("env"), so the tests can
// drive every outcome of an invocation through the Runtime Interface Emulator.
package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Echo    any    `json:"echo"`
	Fail    string `json:"fail"`
	SleepMS int    `json:"sleep_ms"`
	Panic   bool   `json:"panic"`
	Exit    int    `json:"exit"`
	Env     string `json:"env"`
	Touch   string `json:"touch"`
}

type response struct {
	Echo     any    `json:"echo"`
	Function string `json:"function"`
	ARN      string `json:"arn"`
	PID      int    `json:"pid"`
	Env      string `json:"env,omitempty"`
}

func handle(ctx context.Context, e event) (response, error) {
	if e.Touch != "" {
		if err := os.WriteFile(e.Touch, []byte(lambdacontext.FunctionName), 0o644); err != nil {
			return response{}, err
		}
	}
	// The sleep ignores ctx: it is a function that overruns its deadline, which the
	// RIE must time out (one that returned at its deadline would race the timeout).
	time.Sleep(time.Duration(e.SleepMS) * time.Millisecond)
	switch {
	case e.Panic:
		panic("echofn was asked to panic")
	case e.Exit != 0:
		os.Exit(e.Exit)
	case e.Fail != "":
		return response{}, errors.New(e.Fail)
	}
	r := response{Echo: e.Echo, Function: lambdacontext.FunctionName, PID: os.Getpid()}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.ARN = lc.InvokedFunctionArn
	}
	if e.Env != "" {
		r.Env = os.Getenv(e.Env)
	}
	return r, nil
}

func main() {
	lambda.Start(handle)
}
