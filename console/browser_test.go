package console

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// The browser tests drive one headless Chromium for the whole package (a tab per page), the
// Debian package `chromium` that make deps installs (scripts/chromium.sh). CHROMIUM names
// another binary. Without a browser they fail: they are never skipped.
//
// They wait with chromedp's waits on what a page shows (WaitVisible of an element that is
// there only once the page says so), never with sleeps; no wait evaluates script in the page,
// since the pages' Content-Security-Policy forbids eval, which chromedp's Poll uses.
//
// CONSOLE_SCREENSHOTS names a directory to save a screenshot of each page in (make
// screenshots: docs/console).

var browser struct {
	once   sync.Once
	ctx    context.Context // the browser's; a test opens a tab from it
	cancel func()
	err    error
}

// browserPath is the browser the tests run: $CHROMIUM, or chromium on PATH.
func browserPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// startBrowser starts the package's browser once.
func startBrowser() (context.Context, error) {
	browser.once.Do(func() {
		path, err := browserPath()
		if err != nil {
			browser.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
			// No connection but to the console: this machine's network is closed.
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("lang", "en-US"),
			chromedp.WindowSize(1280, 900),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil {
			cancelCtx()
			cancelAlloc()
			browser.err = err
			return
		}
		browser.ctx = ctx
		browser.cancel = func() { cancelCtx(); cancelAlloc() }
	})
	return browser.ctx, browser.err
}

// closeBrowser stops the package's browser, if a test started it.
func closeBrowser() {
	if browser.cancel != nil {
		browser.cancel()
	}
}

// tab is a tab of the package's browser, for one test.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string // the console's address
	// dialogs counts the script dialogs (alert, confirm) a page opened: none ever should.
	mu      sync.Mutex
	dialogs []string
}

// stepTimeout bounds one step of a browser test (a page load, a wait): a loaded CI machine
// may be slow, never that slow.
const stepTimeout = 60 * time.Second

// newTab opens a tab of the package's browser on the console at base, closed when the test
// ends.
func newTab(t *testing.T, base string) *tab {
	t.Helper()
	bctx, err := startBrowser()
	if err != nil {
		t.Fatalf("no browser: %v (install Debian's chromium with `make deps` or scripts/chromium.sh install, or set CHROMIUM to a Chromium binary)", err)
	}
	ctx, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx, base: base}
	chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			b.mu.Lock()
			b.dialogs = append(b.dialogs, d.Message)
			b.mu.Unlock()
			go chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	return b
}

// do runs steps, failing the test with what they were for.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// run runs one action that reads a value.
func run[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open loads the console's page at path and waits until sel shows.
func (b *tab) open(path, sel string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// click clicks sel and waits until then shows (an element of the page it leads to).
func (b *tab) click(sel, then string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(then)))
}

// text is the text sel shows (innerText: what a person reads).
func (b *tab) text(sel string) string {
	b.t.Helper()
	return run(b, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// textContent is the text sel holds, white space as it is.
func (b *tab) textContent(sel string) string {
	b.t.Helper()
	return run(b, "read "+sel, chromedp.TextContent(chromedp.CSS(sel)))
}

// want checks that sel shows exactly want.
func (b *tab) want(sel, want string) {
	b.t.Helper()
	if got := b.text(sel); got != want {
		b.t.Errorf("%s shows %q, want %q", sel, got, want)
	}
}

// eval evaluates expr in the page through DevTools (which the page's CSP does not govern).
func evalIn[T any](b *tab, expr string) T {
	b.t.Helper()
	return run(b, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// shot checks that the page fits the tab's width and takes a screenshot of the whole of it,
// saved as name.png in $CONSOLE_SCREENSHOTS when set.
func (b *tab) shot(name string) {
	b.t.Helper()
	b.fitsWidth(name)
	png := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if len(png) == 0 {
		b.t.Fatalf("screenshot %s is empty", name)
	}
	if dir := os.Getenv("CONSOLE_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// fitsWidth checks that the page needs no sideways scrolling at the tab's width.
func (b *tab) fitsWidth(what string) {
	b.t.Helper()
	if w := evalIn[[]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		b.t.Errorf("%s is %d px wide in a window of %d px", what, w[0], w[1])
	}
}

// noDialogs checks that no page opened a script dialog.
func (b *tab) noDialogs() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		b.t.Errorf("pages opened script dialogs: %q", b.dialogs)
	}
}

// TestBrowserOperatorRetriesAnErrorGroup is an operator's visit: the jobs page, checked
// against the table; a job; an error group; its retry, reviewed with its count before it is
// confirmed, and followed to its end; the counts changing on a job page left open; a task's
// traceback. Every page fits 1280 px (the jobs, job and task pages a phone's width too) and is
// screenshot.
func TestBrowserOperatorRetriesAnErrorGroup(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := serve(t, Config{Tracker: f.tr, AllowWrites: true, BulkHere: true, Wait: testWait, Refresh: time.Second})
	goFP, pyFP := fp(goPanic), fp(pyError)
	job := `/job?job=parse-json`

	// A job page left open from the start: its counts refresh in place.
	watch := newTab(t, c.base)
	watch.open(job, `#live li[data-status="failed"][data-n="4"]`)
	evalIn[bool](watch, `window.stayed = true`)

	b := newTab(t, c.base)
	b.open("/", `tr[data-job="parse-json"] td.total`)
	snap, err := f.tr.Snapshot(context.Background(), f.job)
	if err != nil {
		t.Fatal(err)
	}
	row := `tr[data-job="parse-json"] `
	b.want(row+"td.total", num(snap.Total))
	b.want(row+"td.failed", num(snap.Counts[tracker.Failed]))
	b.want(row+"td.ignored", num(snap.Counts[tracker.Ignored]))
	b.want(row+".progress .done", percent(share(finished(snap.Counts), snap.Total))+" done")
	if got, want := run(b, "read the bar's label", chromedp.AttributeValue(chromedp.CSS(row+"svg.bar"), "aria-label")).Value,
		"of 24 tasks: todo 10 (41.7%), in progress 1 (4.2%), failed 4 (16.7%), succeeded 6 (25.0%), ignored 3 (12.5%)"; got != want {
		t.Errorf("the bar reads %q, want %q", got, want)
	}
	b.shot("jobs")

	b.click(row+"td.job a", `#failures tr[data-fingerprint]`)
	b.want(`#failures tr[data-fingerprint="`+goFP+`"] td.tasks`, "4")
	b.want(`#failures tr[data-fingerprint="`+pyFP+`"] td.tasks`, "3")

	b.click(`#failures tr[data-fingerprint="`+goFP+`"] a.group`, `table.tasks`)
	if got := run(b, "read the group's tasks", chromedp.AttributesAll(chromedp.CSSAll(`tr[data-task]`))); len(got) != 4 || got[0]["data-task"] != "file-0011" || got[3]["data-task"] != "file-0014" {
		t.Errorf("the group lists %v, want file-0011 to file-0014", got)
	}
	b.shot("group")

	// The review counts the group on the index (a dry run) and writes nothing.
	b.click(`form.act button.retry`, `#question`)
	b.want(`#question`, "Retry 4 tasks (failed and ignored tasks with fingerprint "+goFP+") of job parse-json?")
	b.want(`p.note`, "Dry run: 4 tasks now, counted on the index; nothing was written.")
	b.want(`#confirm`, "Yes, retry 4 tasks")
	wantCounts(t, f, f.counts)
	b.shot("review")

	b.click(`#confirm`, `#progress[data-done="yes"]`)
	b.want(`#state`, "Done. Retried 4 tasks.")
	b.want(`#listed`, "4 of 4 counted at the review")
	b.want(`#changed`, "4")
	b.want(`#refused`, "0")
	b.shot("bulk")

	// The page left open shows the change without being loaded again.
	watch.do("watch the counts change",
		chromedp.WaitVisible(chromedp.CSS(`#live li[data-status="failed"][data-n="0"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live li[data-status="todo"][data-n="14"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#failures tr[data-fingerprint="`+goFP+`"]`)))
	if !evalIn[bool](watch, `window.stayed === true`) {
		t.Error("the job page was loaded again, not refreshed in place")
	}
	wantCounts(t, f, map[tracker.Status]int{tracker.Todo: 14, tracker.InProgress: 1, tracker.Succeeded: 6, tracker.Ignored: 3})
	watch.shot("job")
	// Without colour (achromatopsia), each status still reads apart: by its pattern, its name.
	if _, err := chromedp.Call(watch.ctx, emulation.SetEmulatedVisionDeficiency,
		emulation.SetEmulatedVisionDeficiencyParams{Type: emulation.SetEmulatedVisionDeficiencyTypeAchromatopsia}); err != nil {
		t.Fatal(err)
	}
	watch.shot("job-no-colour")

	b.open(job, `#failures tr[data-fingerprint="`+pyFP+`"] td.sample a`)
	b.click(`#failures tr[data-fingerprint="`+pyFP+`"] td.sample a`, `#traceback`)
	if got := b.textContent(`#traceback`); got != pyError.Traceback {
		t.Errorf("traceback reads %q, want %q", got, pyError.Traceback)
	}
	b.want(`#error`, pyError.Error)
	b.want(`b.status`, "ignored")
	b.shot("task")

	// A phone's width: every page fits it, its tables as cards.
	phone := newTab(t, c.base)
	phone.do("a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, p := range []struct {
		name, path, sel string
		shot            bool
	}{
		{"jobs-phone", "/", `tr[data-job="parse-json"] td.total`, true},
		{"job-phone", job, `#failures tr[data-fingerprint]`, true},
		{"task-phone", "/task?job=parse-json&task=file-0015", `#traceback`, false},
	} {
		phone.open(p.path, p.sel)
		if p.shot {
			phone.shot(p.name)
		} else {
			phone.fitsWidth(p.name)
		}
	}
	for _, tb := range []*tab{watch, b, phone} {
		tb.noDialogs()
	}
}

// TestBrowserHostileTextStaysText opens the hostile job's pages (see newHostile) in the
// browser: no script of the table's text runs, no element of it is made, and the texts read
// as their visible escapes.
func TestBrowserHostileTextStaysText(t *testing.T) {
	t.Parallel()
	h := newHostile(t)
	c := serve(t, Config{Tracker: h.tr, AllowWrites: true, BulkHere: true, Wait: testWait})
	b := newTab(t, c.base)
	injected := `document.querySelectorAll("img, [onerror], [onmouseover], script:not([src])").length`
	for _, p := range []struct{ path, sel, title string }{
		{"/", `tr[data-job] td.total`, "Jobs"},
		{jobURL(hostileJob), `#failures tr[data-fingerprint]`, "Job " + hostileJob},
		{taskURL(hostileJob, hostileTask), `#traceback`, "Task " + hostileTask},
		{taskURL(hostileJob, escTask), `h1`, "Task " + show(escTask)},
		{taskURL(hostileJob, rtlTask), `h1`, "Task " + show(rtlTask)},
	} {
		b.open(p.path, p.sel)
		if got := evalIn[string](b, `document.title`); got != p.title+" · tracker console" {
			t.Errorf("%s: title %q, want %q", p.path, got, p.title+" · tracker console")
		}
		if n := evalIn[int](b, injected); n != 0 {
			t.Errorf("%s: %d elements made of the table's text", p.path, n)
		}
	}
	b.open(taskURL(hostileJob, hostileTask), `#traceback`)
	if got, want := b.textContent(`#traceback`), showText(hostileFailure.Traceback); got != want {
		t.Errorf("traceback reads %q, want %q", clip(got, 300), clip(want, 300))
	}
	if got, want := b.textContent(`#error`), showText(hostileFailure.Error); got != want {
		t.Errorf("error reads %q, want %q", got, want)
	}
	if got := b.textContent(`h1 bdi.id`); got != hostileTask {
		t.Errorf("task id reads %q, want %q", got, hostileTask)
	}
	if n := len(b.textContent(`#data`)); n < tracker.MaxDataBytes {
		t.Errorf("data shows %d bytes, want the whole %d", n, tracker.MaxDataBytes)
	}
	b.noDialogs()
}
