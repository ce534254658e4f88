package dynamotest

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Counter counts the DynamoDB API calls made through the clients it is installed on, and sums
// the capacity units they consumed (it asks every call for ReturnConsumedCapacity INDEXES,
// so the index writes are in the sum too). It is safe for concurrent use.
type Counter struct {
	mu       sync.Mutex
	calls    map[string]int
	capacity float64
}

// Option installs the counter on a client: dynamotest.Client(tb, c.Option()).
func (c *Counter) Option() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("dynamotest.Counter",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					askCapacity(in.Parameters)
					out, md, err := next.HandleInitialize(ctx, in)
					c.record(middleware.GetOperationName(ctx), out.Result)
					return out, md, err
				}), middleware.After)
		})
	}
}

// Calls returns the number of calls per operation name.
func (c *Counter) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

// Total returns the number of calls of every operation.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

// Capacity returns the capacity units consumed, table and indexes.
func (c *Counter) Capacity() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.capacity
}

// Reset forgets every call counted so far.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls, c.capacity = nil, 0
}

func (c *Counter) record(op string, result any) {
	units := 0.0
	add := func(cc *types.ConsumedCapacity) {
		if cc != nil && cc.CapacityUnits != nil {
			units += *cc.CapacityUnits
		}
	}
	switch r := result.(type) {
	case *dynamodb.GetItemOutput:
		add(r.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		add(r.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		add(r.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		add(r.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		add(r.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		add(r.ConsumedCapacity)
	case *dynamodb.BatchWriteItemOutput:
		for i := range r.ConsumedCapacity {
			add(&r.ConsumedCapacity[i])
		}
	case *dynamodb.BatchGetItemOutput:
		for i := range r.ConsumedCapacity {
			add(&r.ConsumedCapacity[i])
		}
	case *dynamodb.TransactWriteItemsOutput:
		for i := range r.ConsumedCapacity {
			add(&r.ConsumedCapacity[i])
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
	c.capacity += units
}

func askCapacity(params any) {
	const indexes = types.ReturnConsumedCapacityIndexes
	switch p := params.(type) {
	case *dynamodb.GetItemInput:
		p.ReturnConsumedCapacity = indexes
	case *dynamodb.PutItemInput:
		p.ReturnConsumedCapacity = indexes
	case *dynamodb.UpdateItemInput:
		p.ReturnConsumedCapacity = indexes
	case *dynamodb.DeleteItemInput:
		p.ReturnConsumedCapacity = indexes
	case *dynamodb.QueryInput:
		p.ReturnConsumedCapacity = indexes
	case *dynamodb.ScanInput:
		p.ReturnConsumedCapacity = indexes
	case *dynamodb.BatchWriteItemInput:
		p.ReturnConsumedCapacity = indexes
	case *dynamodb.BatchGetItemInput:
		p.ReturnConsumedCapacity = indexes
	case *dynamodb.TransactWriteItemsInput:
		p.ReturnConsumedCapacity = indexes
	}
}
