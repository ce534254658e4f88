package lambdalocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// errClosed is the outcome of an invocation the server's Close cut short.
var errClosed = errors.New("lambdalocal: server closed")

// rieGrace is how long past the function's timeout the server waits for an RIE to answer
// before it deems the RIE hung: the RIE's own timeout fires first and answers in ~100 ms.
const rieGrace = 10 * time.Second

// A pool holds a function's RIE instances. An instance serves one invocation at a time: a
// request leases a slot from idle, waiting in line, and gives it back when the function has
// answered. The slot, not the instance, is what is leased, so a dead instance is replaced in
// place and the pool keeps its size.
type pool struct {
	s     *Server
	fn    Function
	env   []string
	idle  chan *slot
	slots []*slot
}

type slot struct {
	mu   sync.Mutex   // held while the slot's instance is started, invoked or stopped
	inst *instance    // nil until started, or after a failed start
	pid  atomic.Int64 // inst's pid, 0 without inst: read without mu, which an invocation holds
}

func newPool(s *Server, fn Function) *pool {
	p := &pool{s: s, fn: fn, env: childEnv(fn, s.region), idle: make(chan *slot, fn.PoolSize)}
	for range fn.PoolSize {
		sl := &slot{}
		p.slots = append(p.slots, sl)
		p.idle <- sl
	}
	return p
}

// invocation is one Invoke request as the RIE receives it.
type invocation struct {
	requestID     string
	payload       []byte
	clientContext string // X-Amz-Client-Context, base64 JSON
	traceID       string // X-Amzn-Trace-Id
}

// outcome is the answer to an invocation: the function's payload, or err when the function
// could not be run at all (the server closed, no RIE would start).
type outcome struct {
	payload       []byte
	functionError bool // the payload is an error: X-Amz-Function-Error: Unhandled
	err           error
}

// invoke runs inv and waits for its outcome or for ctx. If ctx ends first while inv waits in
// line, it never runs; if the function is already running, it runs to its end (as on Lambda)
// and only then is its instance leased again.
func (p *pool) invoke(ctx context.Context, inv invocation) (outcome, error) {
	sl, err := p.lease(ctx)
	if err != nil {
		return outcome{}, err
	}
	res := make(chan outcome, 1)
	if !p.s.spawn(func() {
		res <- p.run(sl, inv)
		p.idle <- sl
	}) {
		p.idle <- sl
		return outcome{}, errClosed
	}
	select {
	case o := <-res:
		return o, nil
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	}
}

func (p *pool) lease(ctx context.Context) (*slot, error) {
	select {
	case sl := <-p.idle:
		return sl, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.s.ctx.Done():
		return nil, errClosed
	}
}

// run invokes the function on the leased slot's instance, first replacing the instance if it
// died, and afterwards if the invocation left it unusable.
func (p *pool) run(sl *slot, inv invocation) outcome {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.inst == nil || sl.inst.hasExited() {
		if err := p.replace(p.s.ctx, sl); err != nil {
			return outcome{err: err}
		}
	}
	o, broken := p.call(sl.inst, inv)
	if broken {
		p.s.log.Warn("replacing the RIE after a failed invocation", "function", p.fn.Name, "pid", sl.inst.pid, "request_id", inv.requestID)
		if err := p.replace(p.s.ctx, sl); err != nil && !errors.Is(err, errClosed) {
			p.s.log.Error("could not replace the RIE", "function", p.fn.Name, "err", err)
		}
	}
	return o
}

// call sends inv to in and turns the RIE's answer into Lambda's. broken reports that in
// should not serve another invocation.
func (p *pool) call(in *instance, inv invocation) (o outcome, broken bool) {
	ctx, cancel := context.WithTimeout(p.s.ctx, p.fn.Timeout+rieGrace)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.invokeURL, bytes.NewReader(inv.payload))
	if err != nil {
		return outcome{err: err}, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", inv.requestID) // the RIE hands it to the function as its request id
	if inv.clientContext != "" {
		req.Header.Set("X-Amz-Client-Context", inv.clientContext)
	}
	if inv.traceID != "" {
		req.Header.Set("X-Amzn-Trace-Id", inv.traceID)
	}
	resp, err := p.s.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	switch {
	case err == nil:
		return classify(resp.StatusCode, body, inv.requestID)
	case p.s.ctx.Err() != nil:
		return outcome{err: errClosed}, false
	case errors.Is(err, context.DeadlineExceeded):
		return functionError("Sandbox.Timedout", inv.requestID,
			fmt.Sprintf("Task timed out after %d.00 seconds", int(p.fn.Timeout/time.Second))), true
	default:
		return functionError("Runtime.Unknown", inv.requestID,
			fmt.Sprintf("the Runtime Interface Emulator failed: %v", err)), true
	}
}

// classify maps the RIE's answer to Lambda's. The RIE answers 200 for a result and for a
// function error alike, 200 with plain text for a timeout, and 502 when the runtime exited or
// could not start; it restarts the runtime itself on the next invocation after all three.
func classify(status int, body []byte, requestID string) (o outcome, broken bool) {
	switch {
	case status == http.StatusOK && bytes.HasPrefix(body, []byte("Task timed out after ")):
		return functionError("Sandbox.Timedout", requestID, string(bytes.TrimSpace(body))), false
	case status == http.StatusOK:
		return outcome{payload: body, functionError: isErrorPayload(body)}, false
	case status == http.StatusBadGateway && isErrorPayload(body):
		return outcome{payload: body, functionError: true}, false // a panic, an exit: Runtime.ExitError
	case status == http.StatusBadGateway:
		return functionError("Runtime.Unknown", requestID, "the runtime failed without an error payload; see the function's log"), false
	default:
		// 400 or 504: the RIE's own state machine failed (a reservation it lost, a reset); trust it no more.
		return functionError("Runtime.Unknown", requestID,
			fmt.Sprintf("the Runtime Interface Emulator answered %d: %s", status, bytes.TrimSpace(body))), true
	}
}

// functionError is an error payload as Lambda writes it for errors outside the function's code.
func functionError(errorType, requestID, message string) outcome {
	payload, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{errorType, "RequestId: " + requestID + " Error: " + message})
	return outcome{payload: payload, functionError: true}
}

// errorKeys are the keys the Lambda runtimes put in an error payload: aws-lambda-go writes
// errorMessage, errorType and stackTrace; Python adds requestId, Node.js trace.
var errorKeys = map[string]bool{
	"errorMessage": true, "errorType": true, "stackTrace": true, "requestId": true, "trace": true, "cause": true,
}

// isErrorPayload reports whether body is a runtime's error payload: a JSON object with a string
// errorMessage and errorType and no other keys than errorKeys. The RIE does not tell an error
// from a result, so a function that returns such an object as its result is taken for an error
// (as `sam local` does).
func isErrorPayload(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	for k := range m {
		if !errorKeys[k] {
			return false
		}
	}
	var msg, typ string
	return json.Unmarshal(m["errorMessage"], &msg) == nil && json.Unmarshal(m["errorType"], &typ) == nil
}

// fill starts the slot's first instance.
func (p *pool) fill(ctx context.Context, sl *slot) error {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return p.replace(ctx, sl)
}

// replace stops the slot's instance, if any, and starts a new one. The caller holds sl.mu, so
// Close, which stops every slot's instance under that lock after it marks the server closed,
// stops whatever replace started.
func (p *pool) replace(ctx context.Context, sl *slot) error {
	if sl.inst != nil {
		if err := sl.inst.stop(); err != nil {
			p.s.log.Warn("RIE did not stop cleanly", "function", p.fn.Name, "pid", sl.inst.pid, "err", err)
		}
		sl.inst = nil
		sl.pid.Store(0)
	}
	if p.s.isClosed() {
		return errClosed
	}
	in, err := p.start(ctx)
	if err != nil {
		return fmt.Errorf("function %s: %w", p.fn.Name, err)
	}
	sl.inst = in
	sl.pid.Store(int64(in.pid))
	p.s.spawn(func() { p.watch(sl, in) })
	return nil
}

// watch replaces in when it exits on its own, so the pool heals without waiting for an
// invocation to find the instance dead.
func (p *pool) watch(sl *slot, in *instance) {
	<-in.exited
	if in.stopping.Load() {
		return
	}
	p.s.log.Warn("RIE exited; replacing it", "function", p.fn.Name, "pid", in.pid, "err", in.waitErr)
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.inst != in {
		return // the invocation that found it dead replaced it already
	}
	if err := p.replace(p.s.ctx, sl); err != nil && !errors.Is(err, errClosed) {
		p.s.log.Error("could not replace the RIE; the next invocation tries again", "function", p.fn.Name, "err", err)
	}
}

// close stops every instance of the pool.
func (p *pool) close() error {
	var err error
	for _, sl := range p.slots {
		sl.mu.Lock()
		if sl.inst != nil {
			err = errors.Join(err, sl.inst.stop())
			sl.inst = nil
			sl.pid.Store(0)
		}
		sl.mu.Unlock()
	}
	return err
}

// pids returns the process ids of the pool's RIEs, for tests.
func (p *pool) pids() []int {
	var pids []int
	for _, sl := range p.slots {
		if pid := sl.pid.Load(); pid != 0 {
			pids = append(pids, int(pid))
		}
	}
	return pids
}
