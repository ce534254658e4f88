package dynamotest

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Counter counts the DynamoDB API calls made through the clients it is attached to, by
// operation name, and sums the capacity units they report consumed. Attach it with
// Client(tb, counter.Option()), or with CallsOption to count calls alone. A call counts once
// however often the SDK retries it, and counts when it fails too. The zero value is ready to
// use; it is safe for concurrent use and must not be copied after first use.
//
// To know the capacity, the counter asks for it: on every call that accepts
// ReturnConsumedCapacity and leaves it unset, it sends INDEXES (TOTAL for TransactGetItems
// and ExecuteTransaction, which accept nothing finer). INDEXES rather than TOTAL because
// DynamoDB Local leaves index writes out of TOTAL. The caller's input is not modified.
// Calls that fail report no capacity, though DynamoDB charges for some of them (a write whose
// condition fails costs what the write would have), and DynamoDB Local reports none for the
// PartiQL operations.
type Counter struct {
	mu       sync.Mutex
	calls    map[string]int
	capacity float64
}

// Option returns a client option that attaches the counter to a client, for Client or
// dynamodb.NewFromConfig.
func (c *Counter) Option() func(*dynamodb.Options) { return c.option(true) }

// CallsOption returns a client option that attaches the counter to count calls alone: it
// sends every request as the caller made it, so Capacity counts nothing of these calls. For
// benchmarks that time the server: DynamoDB Local spends about a quarter more CPU time on a
// write whose consumed capacity is asked for (BenchmarkPools' doc in the worker package).
func (c *Counter) CallsOption() func(*dynamodb.Options) { return c.option(false) }

// option attaches the counter's middleware, which asks for the consumed capacity when ask is
// set, makes the call, and records it.
func (c *Counter) option(ask bool) func(*dynamodb.Options) {
	id := fmt.Sprintf("dynamotest.Counter(%p)", c) // unique, so two counters can share a client
	if !ask {
		id += ".calls"
	}
	mw := middleware.InitializeMiddlewareFunc(id, func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		if ask {
			in.Parameters = withConsumedCapacity(in.Parameters)
		}
		out, md, err := next.HandleInitialize(ctx, in)
		capacity := 0.0
		if ask {
			capacity = consumedCapacity(out.Result)
		}
		c.record(middleware.GetOperationName(ctx), capacity)
		return out, md, err
	})
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			// First, so the parameter it sets is validated and serialized like the caller's own.
			return s.Initialize.Add(mw, middleware.Before)
		})
	}
}

func (c *Counter) record(operation string, capacity float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = make(map[string]int)
	}
	c.calls[operation]++
	c.capacity += capacity
}

// Calls returns how many calls were made per operation name ("GetItem", "Query", ...), as a
// copy the caller may keep.
func (c *Counter) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := make(map[string]int, len(c.calls))
	maps.Copy(calls, c.calls)
	return calls
}

// Total returns how many calls were made, all operations together.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, calls := range c.calls {
		n += calls
	}
	return n
}

// Capacity returns the capacity units (read and write together) that the calls' responses
// reported consumed.
func (c *Counter) Capacity() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.capacity
}

// Reset forgets every call and all capacity counted so far, for example after a benchmark's
// setup.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
	c.capacity = 0
}

// ReportMetrics reports the calls and the capacity per benchmark iteration, as the metrics
// "calls/op" and "CU/op". Call it at the end of the benchmark, after Reset at the start of
// the timed part.
func (c *Counter) ReportMetrics(b *testing.B) {
	b.Helper()
	if b.N == 0 {
		return
	}
	b.ReportMetric(float64(c.Total())/float64(b.N), "calls/op")
	b.ReportMetric(c.Capacity()/float64(b.N), "CU/op")
}

// withConsumedCapacity returns params asking for the consumed capacity: a shallow copy with
// ReturnConsumedCapacity set when the operation accepts it and the caller left it unset,
// params itself otherwise.
func withConsumedCapacity(params any) any {
	const indexes, total = types.ReturnConsumedCapacityIndexes, types.ReturnConsumedCapacityTotal
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.PutItemInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.UpdateItemInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.DeleteItemInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.QueryInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.ScanInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.BatchGetItemInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.BatchWriteItemInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.TransactGetItemsInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, total)
	case *dynamodb.TransactWriteItemsInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.ExecuteStatementInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.BatchExecuteStatementInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, indexes)
	case *dynamodb.ExecuteTransactionInput:
		cp := *in
		return ask(in, &cp, &cp.ReturnConsumedCapacity, total)
	}
	return params
}

// ask returns cp with *field set to level when the caller left it unset in orig, orig otherwise.
func ask[T any](orig, cp *T, field *types.ReturnConsumedCapacity, level types.ReturnConsumedCapacity) *T {
	if *field != "" {
		return orig
	}
	*field = level
	return cp
}

// consumedCapacity returns the capacity units an operation's output reports, 0 for outputs
// without any (including the nil output of a failed call).
func consumedCapacity(result any) float64 {
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		return units(out.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		return units(out.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		return units(out.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		return units(out.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		return units(out.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		return units(out.ConsumedCapacity)
	case *dynamodb.ExecuteStatementOutput:
		return units(out.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		return sumUnits(out.ConsumedCapacity)
	case *dynamodb.BatchWriteItemOutput:
		return sumUnits(out.ConsumedCapacity)
	case *dynamodb.TransactGetItemsOutput:
		return sumUnits(out.ConsumedCapacity)
	case *dynamodb.TransactWriteItemsOutput:
		return sumUnits(out.ConsumedCapacity)
	case *dynamodb.BatchExecuteStatementOutput:
		return sumUnits(out.ConsumedCapacity)
	case *dynamodb.ExecuteTransactionOutput:
		return sumUnits(out.ConsumedCapacity)
	}
	return 0
}

// units returns a ConsumedCapacity's total: CapacityUnits, which covers the table and its
// indexes, or else the read and write units.
func units(cc *types.ConsumedCapacity) float64 {
	if cc == nil {
		return 0
	}
	if cc.CapacityUnits != nil {
		return *cc.CapacityUnits
	}
	var u float64
	if cc.ReadCapacityUnits != nil {
		u += *cc.ReadCapacityUnits
	}
	if cc.WriteCapacityUnits != nil {
		u += *cc.WriteCapacityUnits
	}
	return u
}

func sumUnits(ccs []types.ConsumedCapacity) float64 {
	var u float64
	for i := range ccs {
		u += units(&ccs[i])
	}
	return u
}
