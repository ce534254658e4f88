package tracker_test

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// lossyProxy forwards TCP connections to DynamoDB Local and loses one answer: once the first
// UpdateItem request has gone through and DynamoDB has started to answer it, it resets the
// client's connection instead of passing the answer on. The write has applied; the client
// sees a network error, and the SDK sends the request again.
type lossyProxy struct {
	ln       net.Listener
	target   string
	armed    atomic.Bool // the answer on its way is to be lost
	spent    atomic.Bool // the first UpdateItem has been seen
	lost     atomic.Int32
	wg       sync.WaitGroup
	closeAll func()
}

func newLossyProxy(t *testing.T) *lossyProxy {
	t.Helper()
	u, err := url.Parse(dynamotest.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{ln: ln, target: u.Host}
	var mu sync.Mutex
	var conns []net.Conn
	p.closeAll = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			p.wg.Go(func() { p.upstream(c, s) })
			p.wg.Go(func() { p.downstream(c, s) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *lossyProxy) endpoint() string { return "http://" + p.ln.Addr().String() }

// upstream copies the client's requests to DynamoDB, arming the loss on the first UpdateItem.
func (p *lossyProxy) upstream(c, s net.Conn) {
	defer s.Close()
	buf := make([]byte, 64*1024)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if bytes.Contains(buf[:n], []byte("DynamoDB_20120810.UpdateItem")) && p.spent.CompareAndSwap(false, true) {
				p.armed.Store(true)
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// downstream copies DynamoDB's answers to the client, but resets the client's connection
// in place of the armed answer.
func (p *lossyProxy) downstream(c, s net.Conn) {
	defer c.Close()
	buf := make([]byte, 64*1024)
	for {
		n, err := s.Read(buf)
		if n > 0 && p.armed.CompareAndSwap(true, false) {
			p.lost.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // close with RST: the answer is lost, not merely late
			}
			return
		}
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestClaimWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	e.create(t, "t", `{"n":1}`)
	p := newLossyProxy(t)
	lossy := dynamotest.Client(t, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(p.endpoint()) })
	cfg := e.tr.Config()
	tr, err := tracker.New(lossy, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := tr.Claim(ctx, job, "t", "w")
	if err != nil {
		t.Fatalf("Claim after a lost answer = %v, want the lease", err)
	}
	if p.lost.Load() != 1 {
		t.Fatalf("the proxy lost %d answers, want 1", p.lost.Load())
	}
	got, err := e.tr.Get(ctx, job, "t")
	if err != nil {
		t.Fatal(err)
	}
	if got.Lock != lease.Token || got.Status != tracker.InProgress || got.Attempts != 1 || got.LockOwner != "w" || lease.Task == nil || lease.Task.Lock != lease.Token {
		t.Errorf("task = %+v, lease = %+v", got, lease)
	}
	if _, err := tr.Complete(ctx, *lease, nil); err != nil {
		t.Errorf("Complete with the recovered lease: %v", err)
	}
}
