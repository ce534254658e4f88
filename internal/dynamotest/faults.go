package dynamotest

import (
	"hash/crc32"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// ThrottlingBody is the body of the throttling error Faults answers with, as DynamoDB sends
// it when a request exceeds a table's or an index's capacity.
const ThrottlingBody = `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",` +
	`"message":"Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly."}`

// Faults answers a share of the DynamoDB requests made through the clients it is attached to
// with DynamoDB's throttling error instead of sending them: an HTTP 400 whose header
// x-amzn-ErrorType and body (ThrottlingBody) name ThrottlingException, with the CRC32 header
// DynamoDB adds. The SDK decodes it as a *types.ThrottlingException and retries it as it
// would DynamoDB's own, each attempt throttled or not on its own draw; the server never sees
// a throttled request. Attach it with Client(tb, faults.Option()) and choose what it
// throttles with Throttle, at any time. The zero value throttles nothing; it is safe for
// concurrent use and must not be copied after first use.
type Faults struct {
	mu         sync.Mutex
	share      float64
	operations []string // empty: every operation
	throttled  map[string]int
}

// Throttle makes the injector answer share (0 to 1) of the requests for operations
// ("UpdateItem", "Query", ...; every operation when none is named) with the throttling
// error, from now on, in place of what it was told before. Throttle(0) stops it.
func (f *Faults) Throttle(share float64, operations ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.share, f.operations = share, slices.Clone(operations)
}

// Throttled returns how many requests (SDK attempts) were answered with the throttling
// error, per operation name, as a copy the caller may keep.
func (f *Faults) Throttled() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.throttled)
}

// Option returns a client option that routes a client's requests through the injector, for
// Client or dynamodb.NewFromConfig. Give it after any option that sets the HTTP client.
func (f *Faults) Option() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.HTTPClient = &faultyClient{next: o.HTTPClient, faults: f}
	}
}

// throttles draws whether to throttle a request for operation, counting it when it does.
func (f *Faults) throttles(operation string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.share <= 0 || (len(f.operations) > 0 && !slices.Contains(f.operations, operation)) || rand.Float64() >= f.share {
		return false
	}
	if f.throttled == nil {
		f.throttled = make(map[string]int)
	}
	f.throttled[operation]++
	return true
}

// faultyClient is the HTTP client Faults puts in front of a client's own.
type faultyClient struct {
	next   aws.HTTPClient
	faults *Faults
}

// Do answers the request with the throttling error when the injector draws it, and sends it
// on otherwise.
func (c *faultyClient) Do(req *http.Request) (*http.Response, error) {
	// The JSON protocol names the operation in X-Amz-Target: DynamoDB_20120810.UpdateItem.
	target := req.Header.Get("X-Amz-Target")
	if !c.faults.throttles(target[strings.LastIndex(target, ".")+1:]) {
		return c.next.Do(req)
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-ErrorType", "ThrottlingException")
	h.Set("X-Amzn-RequestId", "DYNAMOTEST"+strconv.FormatUint(rand.Uint64(), 36))
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(ThrottlingBody))), 10))
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	return &http.Response{
		Status: "400 Bad Request", StatusCode: http.StatusBadRequest,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(ThrottlingBody)), ContentLength: int64(len(ThrottlingBody)),
		Request: req,
	}, nil
}
