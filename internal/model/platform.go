package model

import "time"

// Platform is what the model assumes of AWS: limits, latencies and billing. Each field says
// where its value comes from: a documentation page, or "assumed" with the reason. AWS gives the
// values of the AWS deployment; a test comparing with the local stack sets its own.
type Platform struct {
	// ScaleBurst and ScaleRate are Lambda's concurrency scaling rate, per function: at most
	// 1,000 new execution environments at once, refilled continuously at 1,000 per 10 seconds,
	// unused refills not carried over; an invoke past it, or past the function's concurrency
	// limit, fails with 429 (TooManyRequestsException).
	// Source: https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html
	ScaleBurst float64
	ScaleRate  float64 // environments per second
	// ColdStart is how long a new execution environment takes before its handler runs.
	// Assumed 250 ms: a small Go binary on provided.al2023 initialises in 100-300 ms (the
	// lifecycle page bounds INIT at 10 s but gives no typical figure); the worker's is the
	// same, which favours neither shape.
	// Source for the phases: https://docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html
	ColdStart time.Duration
	// InvokeOverhead is what a Task state's Lambda invoke adds to the handler's own time:
	// Step Functions to Lambda's front end and back. Assumed 15 ms: not documented; it does
	// not hold an execution environment (concurrency counts the handler only).
	InvokeOverhead time.Duration
	// ThrottleLatency is how long a throttled invoke takes to fail. Assumed 10 ms.
	ThrottleLatency time.Duration
	// ExpressTransition and StandardTransition are what entering a state costs in an Express
	// and in a Standard execution, before the state does anything. Assumed 5 ms and 30 ms:
	// not documented; Standard executions persist every transition, Express keep them in memory.
	ExpressTransition  time.Duration
	StandardTransition time.Duration
	// ChildStart is how long a Distributed Map takes from an open slot to its child's first
	// state. Assumed 150 ms: not documented; no child start rate limit is documented either,
	// and none is modelled. Source for the 10,000 children: https://docs.aws.amazon.com/ja_jp/step-functions/latest/dg/concepts-asl-use-map-state-distributed.html
	ChildStart time.Duration
	// MapRunStart and MapRunEnd are what a Distributed Map run adds at its start (creating the
	// Map Run) and at its end (noticing its last child ended). Assumed 1 s and 500 ms.
	MapRunStart time.Duration
	MapRunEnd   time.Duration
	// InlineMapConcurrency is how many iterations an inline Map runs at once when its
	// MaxConcurrency is 0: 40.
	// Source: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-asl-use-map-state-inline.html
	InlineMapConcurrency int
	// DynamoRead and DynamoWrite are a Query of a few ids and a conditional UpdateItem as a
	// Lambda function in the same region sees them. Assumed 8 ms and 10 ms: DynamoDB documents
	// "single-digit millisecond" latency, plus the network and the SDK.
	// Source: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html
	DynamoRead  time.Duration
	DynamoWrite time.Duration
	// PageReadPerID is what each id adds to a listing's Query (the old shape's pages). Assumed
	// 20 µs: ids only, about 100 bytes an item, up to 1 MB a Query.
	PageReadPerID time.Duration
	// PartitionWCU is the most write units a second one partition serves, a table's or an
	// index's; an index partition past it throttles writes to the table (back-pressure).
	// Source: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html
	// and https://aws.amazon.com/premiumsupport/knowledge-center/dynamodb-gsi-throttling-table/
	PartitionWCU float64
	// TableWRU is the most write request units a second the table serves, its index writes
	// included: the default table quota of an on-demand table, 40,000 (NewTableWRU, 4,000, is
	// where a new on-demand table starts before it scales).
	// Source: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode-max-throughput.html
	// and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html
	TableWRU float64
	// SDKAttempts, SDKThrottleBase and SDKMaxBackoff are the Go SDK's standard retryer: 3
	// attempts, a throttle's i-th retry waiting a uniform draw in [0, min(1 s × 2^i, 20 s)).
	// Source: https://aws.github.io/aws-sdk-go-v2/docs/configuring-sdk/retries-timeouts
	// (and aws/retry/standard.go and jitter_backoff.go of aws-sdk-go-v2 v1.48.0 for the formula).
	SDKAttempts     int
	SDKThrottleBase time.Duration
	SDKMaxBackoff   time.Duration
	// RefusedClaims is the share of claims that find their first listed task taken by another
	// loop and write once more for the next one. Assumed 0.03: the worker pools' measured
	// 0.021-0.037 refused claims per task (README, make bench), loops being listed the same way.
	RefusedClaims float64
	// HandlerCPU is the CPU time of one of our handlers beside its DynamoDB calls. Assumed 2 ms.
	HandlerCPU time.Duration
	// LeaseDuration is how long a task whose outcome could not be recorded stays leased:
	// the tracker's default, 15 minutes.
	LeaseDuration time.Duration
	// BillingGranule and ExpressMemoryMB are how Express executions are billed: duration
	// rounded up to 100 ms, memory in 64-MB chunks (a lane's state is small: one chunk).
	// Source: https://aws.amazon.com/step-functions/pricing/
	BillingGranule  time.Duration
	ExpressMemoryMB float64
	// FunctionMemoryMB is our functions' memory (arm64), as the CDK app deploys them.
	FunctionMemoryMB float64
	// ThrottleEventBytes is what the state machine's log (level ERROR) gets for a throttled
	// Lambda call: a failed-task record (id, type, timestamps, execution ARN; about 400 bytes)
	// and the error's name and cause (about 250). An assumption from the record format in the
	// Step Functions developer guide ("Log levels": ERROR logs every failed state, retried or
	// not).
	ThrottleEventBytes float64
}

// AWS is the platform as documented or assumed for an AWS deployment; see each field.
func AWS() Platform {
	return Platform{
		ScaleBurst:           1000,
		ScaleRate:            100,
		ColdStart:            250 * time.Millisecond,
		InvokeOverhead:       15 * time.Millisecond,
		ThrottleLatency:      10 * time.Millisecond,
		ExpressTransition:    5 * time.Millisecond,
		StandardTransition:   30 * time.Millisecond,
		ChildStart:           150 * time.Millisecond,
		MapRunStart:          time.Second,
		MapRunEnd:            500 * time.Millisecond,
		InlineMapConcurrency: 40,
		DynamoRead:           8 * time.Millisecond,
		DynamoWrite:          10 * time.Millisecond,
		PageReadPerID:        20 * time.Microsecond,
		PartitionWCU:         1000,
		TableWRU:             40000,
		SDKAttempts:          3,
		SDKThrottleBase:      time.Second,
		SDKMaxBackoff:        20 * time.Second,
		RefusedClaims:        0.03,
		HandlerCPU:           2 * time.Millisecond,
		LeaseDuration:        15 * time.Minute,
		BillingGranule:       100 * time.Millisecond,
		ExpressMemoryMB:      64,
		FunctionMemoryMB:     256,
		ThrottleEventBytes:   650,
	}
}

// NewTableWRU is where a new on-demand table's write throughput starts (its warm throughput)
// before DynamoDB scales it: 4,000 write units a second.
// Source: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html
const NewTableWRU = 4000

// Prices are what AWS charges, in US dollars, us-east-1.
type Prices struct {
	// ExpressRequest and ExpressGBSecond: $1.00 per million executions and $0.00001667 per
	// GB-second. Source: https://aws.amazon.com/step-functions/pricing/
	ExpressRequest, ExpressGBSecond float64
	// StandardTransition: $0.025 per 1,000 state transitions.
	// Source: https://aws.amazon.com/step-functions/pricing/
	StandardTransition float64
	// LambdaRequest and LambdaGBSecond: $0.20 per million requests and, on arm64,
	// $0.0000133334 per GB-second. Source: https://aws.amazon.com/lambda/pricing/
	LambdaRequest, LambdaGBSecond float64
	// LogGB: CloudWatch Logs ingestion, $0.50 per GB (standard and vended logs alike, the
	// first 10 TB a month). Source: https://aws.amazon.com/cloudwatch/pricing/
	LogGB float64
}

// AWSPrices are the list prices above.
func AWSPrices() Prices {
	return Prices{
		ExpressRequest:     1.00 / 1e6,
		ExpressGBSecond:    0.00001667,
		StandardTransition: 0.025 / 1000,
		LambdaRequest:      0.20 / 1e6,
		LambdaGBSecond:     0.0000133334,
		LogGB:              0.50,
	}
}
