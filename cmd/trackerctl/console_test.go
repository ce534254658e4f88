package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// startConsole runs trackerctl console with args in-process until the test ends, and returns
// the address it printed and a function that stops it and returns its exit code and stderr.
func startConsole(t *testing.T, c *cli, args ...string) (base string, stop func() (int, string)) {
	t.Helper()
	out, outW := io.Pipe()
	var stderr strings.Builder
	a := newApp(strings.NewReader(""), outW, &stderr, func(k string) string { return c.env[k] })
	a.now = c.clock.Now
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- a.run(ctx, append([]string{"console"}, args...))
		outW.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("console printed no address: %v; exit %d, stderr:\n%s", err, <-code, stderr.String())
	}
	go io.Copy(io.Discard, out)
	stopped := false
	stop = func() (int, string) {
		stopped = true
		cancel()
		return <-code, stderr.String()
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return strings.TrimSuffix(strings.TrimSpace(line), "/"), stop
}

// TestConsole: trackerctl console serves the table on a loopback port, read-only unless told,
// prints its address, and ends cleanly when interrupted.
func TestConsole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.seed(t)
	c := f.cli()
	base, stop := startConsole(t, c, "--listen", "127.0.0.1:0")
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("address %q, want http://127.0.0.1:PORT", base)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	// The counts are read in the background: the page shows them once read.
	want := `<td data-label="Tasks" class="num total">8</td>`
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := get("/")
		if status != http.StatusOK {
			t.Fatalf("GET /: status %d\n%s", status, body)
		}
		if strings.Contains(body, want) {
			if !strings.Contains(body, `data-job="parse-json"`) || !strings.Contains(body, `<span class="mode readonly">read-only</span>`) {
				t.Errorf("jobs page lacks the job or the read-only mark:\n%s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs page never showed %q:\n%s", want, body)
		}
		time.Sleep(50 * time.Millisecond) // a poll's interval
	}
	resp, err := http.PostForm(base+"/act", url.Values{"job": {job}, "action": {"retry"}, "scope": {"tasks"}, "task": {"t-06"}, "confirm": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a write to a read-only console: status %d, want 403", resp.StatusCode)
	}
	code, stderr := stop()
	if code != exitOK {
		t.Errorf("interrupted console: exit %d, want 0; stderr:\n%s", code, stderr)
	}
	if wantErr := "console: table " + f.table + " at " + f.endpoint + ", read-only; interrupt (Ctrl-C) to stop\n"; stderr != wantErr {
		t.Errorf("stderr %q, want %q", stderr, wantErr)
	}
}

func TestConsoleRefusesAnAddressItCannotListenOn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.cli().run(t, "console", "--listen", "127.0.0.1:notaport").wantCode(t, exitUsage).wantOneLineError(t, "--listen 127.0.0.1:notaport")
}
