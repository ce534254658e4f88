package dynamotest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Meter is a reverse proxy in front of DynamoDB (Local) that meters what flows through it as
// DynamoDB bills it: for every call, by operation, the read and write capacity units the
// answer reports (it asks for them, INDEXES, when the caller did not), and for every write
// refused by its condition the units DynamoDB charges for it, which DynamoDB Local does not
// report: the size of the item as it was (returned by ReturnValuesOnConditionCheckFailure)
// rounded up to 1 KB, at least 1. Point processes that cannot take a Counter (the functions
// under the Lambda emulator, say) at URL.
//
// The proxy rewrites the request body to ask for the capacity: a signed request's signature
// no longer matches, which DynamoDB Local does not check. It is for tests and benchmarks only.
type Meter struct {
	srv *httptest.Server

	mu sync.Mutex
	u  Usage
}

// Usage is what a Meter measured.
type Usage struct {
	// Calls counts calls by operation ("UpdateItem", "Query", ...).
	Calls map[string]int
	// ReadUnits and WriteUnits sum the capacity units the answers reported, table and
	// indexes together.
	ReadUnits, WriteUnits float64
	// Refused counts writes refused by their condition; RefusedUnits is what DynamoDB bills
	// for them (write units).
	Refused      int
	RefusedUnits float64
}

// Sub returns u less v, call for call: what happened between two readings.
func (u Usage) Sub(v Usage) Usage {
	d := Usage{Calls: map[string]int{}, ReadUnits: u.ReadUnits - v.ReadUnits, WriteUnits: u.WriteUnits - v.WriteUnits,
		Refused: u.Refused - v.Refused, RefusedUnits: u.RefusedUnits - v.RefusedUnits}
	for op, n := range u.Calls {
		if n -= v.Calls[op]; n != 0 {
			d.Calls[op] = n
		}
	}
	return d
}

// NewMeter starts a Meter in front of the DynamoDB endpoint target; it stops when tb ends.
func NewMeter(tb testing.TB, target string) *Meter {
	tb.Helper()
	to, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("dynamotest: meter target %q: %v", target, err)
	}
	m := &Meter{u: Usage{Calls: map[string]int{}}}
	proxy := httputil.NewSingleHostReverseProxy(to)
	proxy.ModifyResponse = m.observe
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body, err := io.ReadAll(r.Body); err == nil {
			body = askCapacity(r.Header.Get("X-Amz-Target"), body)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(m.srv.Close)
	return m
}

// URL is the endpoint to give DynamoDB clients (AWS_ENDPOINT_URL_DYNAMODB).
func (m *Meter) URL() string { return m.srv.URL }

// Usage returns what the meter measured so far, as a copy.
func (m *Meter) Usage() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.u
	u.Calls = maps.Clone(m.u.Calls)
	return u
}

// operation is the operation of a request's X-Amz-Target ("DynamoDB_20120810.UpdateItem").
func operation(target string) string { return target[strings.LastIndexByte(target, '.')+1:] }

// writes are the operations billed in write units.
var writes = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true, "TransactWriteItems": true}

// askCapacity returns body asking for the consumed capacity, by index, when it does not ask
// already (the transactions' reads accept TOTAL only).
func askCapacity(target string, body []byte) []byte {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil || in == nil {
		return body
	}
	if _, ok := in["ReturnConsumedCapacity"]; ok {
		return body
	}
	switch operation(target) {
	case "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem", "TransactWriteItems":
		in["ReturnConsumedCapacity"] = json.RawMessage(`"INDEXES"`)
	case "TransactGetItems":
		in["ReturnConsumedCapacity"] = json.RawMessage(`"TOTAL"`)
	default:
		return body
	}
	out, err := json.Marshal(in)
	if err != nil {
		return body
	}
	return out
}

// observe records one answer.
func (m *Meter) observe(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return err
	}
	op := operation(resp.Request.Header.Get("X-Amz-Target"))
	var out struct {
		Type             string          `json:"__type"`
		ConsumedCapacity json.RawMessage `json:"ConsumedCapacity"`
		Item             map[string]any  `json:"Item"`
	}
	_ = json.Unmarshal(body, &out)
	units := capacityOf(out.ConsumedCapacity)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.u.Calls[op]++
	if writes[op] {
		m.u.WriteUnits += units
	} else {
		m.u.ReadUnits += units
	}
	if resp.StatusCode == http.StatusBadRequest && strings.HasSuffix(out.Type, "ConditionalCheckFailedException") {
		m.u.Refused++
		m.u.RefusedUnits += WriteUnits(ItemSize(out.Item))
	}
	return nil
}

// capacityOf sums the capacity units of one ConsumedCapacity or a list of them: the table's
// and each index's when given by index, the total otherwise.
func capacityOf(raw json.RawMessage) float64 {
	type consumed struct {
		CapacityUnits          float64
		Table                  *struct{ CapacityUnits float64 }
		GlobalSecondaryIndexes map[string]struct{ CapacityUnits float64 }
		LocalSecondaryIndexes  map[string]struct{ CapacityUnits float64 }
	}
	var list []consumed
	if len(raw) == 0 {
		return 0
	}
	if raw[0] == '[' {
		_ = json.Unmarshal(raw, &list)
	} else {
		var one consumed
		_ = json.Unmarshal(raw, &one)
		list = []consumed{one}
	}
	sum := 0.0
	for _, c := range list {
		if c.Table == nil && len(c.GlobalSecondaryIndexes) == 0 && len(c.LocalSecondaryIndexes) == 0 {
			sum += c.CapacityUnits
			continue
		}
		if c.Table != nil {
			sum += c.Table.CapacityUnits
		}
		for _, i := range c.GlobalSecondaryIndexes {
			sum += i.CapacityUnits
		}
		for _, i := range c.LocalSecondaryIndexes {
			sum += i.CapacityUnits
		}
	}
	return sum
}

// WriteUnits is what DynamoDB bills in write units for writing (or refusing to write) an item
// of size bytes: one per KB begun, at least one.
func WriteUnits(size int) float64 { return max(1, math.Ceil(float64(size)/1024)) }

// ItemSize is the size DynamoDB counts for an item in its JSON wire form (attribute name to
// {"S": ...}, {"N": ...}, ...): each attribute's name in UTF-8 bytes plus its value's size.
func ItemSize(item map[string]any) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

// valueSize is the size of one attribute value by DynamoDB's rules: a string's UTF-8 bytes, a
// binary's bytes, a number's about one byte per two significant digits plus one, a boolean or
// null one byte, a list or map 3 bytes plus its elements and one byte each (a map's element
// counts its name too).
func valueSize(v any) int {
	typed, ok := v.(map[string]any)
	if !ok || len(typed) != 1 {
		return 0
	}
	for typ, val := range typed {
		switch typ {
		case "S":
			s, _ := val.(string)
			return len(s)
		case "N":
			s, _ := val.(string)
			return numberSize(s)
		case "B":
			s, _ := val.(string)
			b, _ := base64.StdEncoding.DecodeString(s)
			return len(b)
		case "BOOL", "NULL":
			return 1
		case "SS", "NS", "BS":
			n := 0
			list, _ := val.([]any)
			for _, e := range list {
				s, _ := e.(string)
				switch typ {
				case "SS":
					n += len(s)
				case "NS":
					n += numberSize(s)
				default:
					b, _ := base64.StdEncoding.DecodeString(s)
					n += len(b)
				}
			}
			return n
		case "L":
			n := 3
			list, _ := val.([]any)
			for _, e := range list {
				n += 1 + valueSize(e)
			}
			return n
		case "M":
			n := 3
			m, _ := val.(map[string]any)
			for name, e := range m {
				n += 1 + len(name) + valueSize(e)
			}
			return n
		}
	}
	return 0
}

// numberSize is a number's size: one byte per two significant digits (leading and trailing
// zeros trimmed), plus one.
func numberSize(s string) int {
	s = strings.TrimPrefix(s, "-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.Trim(strings.Replace(s, ".", "", 1), "0")
	digits := max(len(s), 1)
	return (digits+1)/2 + 1
}

// ItemSizeOf is ItemSize of an item as the SDK gives it.
func ItemSizeOf(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(wireValue(v))
	}
	return n
}

// wireValue is v in DynamoDB's JSON form, as valueSize reads it.
func wireValue(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(v.Value)}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": toAny(v.Value, func(s string) any { return s })}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": toAny(v.Value, func(s string) any { return s })}
	case *types.AttributeValueMemberBS:
		return map[string]any{"BS": toAny(v.Value, func(b []byte) any { return base64.StdEncoding.EncodeToString(b) })}
	case *types.AttributeValueMemberL:
		return map[string]any{"L": toAny(v.Value, wireValue)}
	case *types.AttributeValueMemberM:
		m := map[string]any{}
		for k, e := range v.Value {
			m[k] = wireValue(e)
		}
		return map[string]any{"M": m}
	}
	return nil
}

func toAny[T any](list []T, f func(T) any) []any {
	out := make([]any, len(list))
	for i, e := range list {
		out[i] = f(e)
	}
	return out
}
