package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// listedPage is a page of a listing as readPages delivers it: the page, or the error that
// ended the listing.
type listedPage struct {
	tracker.Page
	err error
}

// readPages reads the pages of job's listing in the background, a page ahead of its reader,
// and delivers them in order on the channel it returns, which it closes after the last page
// or the first error. With all it follows the cursors from opts.Cursor to the end; without,
// it reads one page. To stop it early, cancel ctx and drain the channel (drain).
func readPages(ctx context.Context, tr *tracker.Tracker, job string, opts tracker.ListOptions, all bool) <-chan listedPage {
	out := make(chan listedPage, 1)
	go func() {
		defer close(out)
		for {
			var p listedPage
			page, err := tr.List(ctx, job, opts)
			var ve *tracker.ValidationError
			switch {
			case errors.As(err, &ve):
				p.err = usagef("%v", err)
			case err != nil:
				p.err = err
			default:
				p.Page = *page
			}
			select {
			case out <- p:
			case <-ctx.Done():
				return
			}
			if p.err != nil || !all || p.Cursor == "" {
				return
			}
			opts.Cursor = p.Cursor
		}
	}()
	return out
}

// drain stops a readPages whose context stop cancels, and waits until it has ended.
func drain(stop context.CancelFunc, pages <-chan listedPage) {
	stop()
	for range pages {
	}
}

// streamList writes list's JSON document as the pages arrive, the next page read while the
// last is written: the document the whole listing would give, without holding the listing.
// When a page fails after some tasks were written, the document is closed with the cursor of
// that page, from which --cursor resumes, and the error is returned (a non-zero exit); when
// the listing fails before its first task, nothing is written.
func (a *app) streamList(ctx context.Context, tr *tracker.Tracker, job string, opts tracker.ListOptions, all bool) error {
	ctx, stop := context.WithCancel(ctx)
	pages := readPages(ctx, tr, job, opts, all)
	defer drain(stop, pages)
	lease := tr.Config().LeaseDuration
	w := newListWriter(a.stdout, job)
	// cursor is where the listing resumes after the tasks written so far.
	cursor := opts.Cursor
	fail := func(err error) error {
		if w.started() {
			w.end(cursor) // the error at hand is the one to report
		}
		return err
	}
	for p := range pages {
		if p.err != nil {
			return fail(p.err)
		}
		msgs, err := a.currentErrors(ctx, tr, job, p.Tasks)
		if err != nil {
			return fail(err)
		}
		for i := range p.Tasks {
			t := listTask{taskView: a.view(&p.Tasks[i], lease), Failure: p.Tasks[i].Failure}
			if msgs[i] != "" {
				t.LastError = &msgs[i]
			}
			if err := w.task(t); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		cursor = p.Cursor
	}
	// The reader stops without a last page only when ctx ended (an interrupt).
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if !w.started() && cursor == "" {
		if _, _, err := a.countJob(ctx, tr, job); err != nil {
			return err
		}
	}
	return w.end(cursor)
}

// listWriter writes list's JSON document (a listPage) a task at a time, byte for byte as
// printJSON writes the whole page, so that a listing is printed as it is read.
type listWriter struct {
	w     *bufio.Writer
	job   string
	buf   bytes.Buffer
	enc   *json.Encoder
	open  bool // the document's head is written
	tasks int  // tasks written
}

func newListWriter(w io.Writer, job string) *listWriter {
	lw := &listWriter{w: bufio.NewWriterSize(w, 64<<10), job: job}
	lw.enc = json.NewEncoder(&lw.buf)
	lw.enc.SetEscapeHTML(false)
	return lw
}

// started reports whether a task was written: the document is under way.
func (lw *listWriter) started() bool { return lw.tasks > 0 }

// encode returns v as printJSON writes it at a line prefix of prefix, without the final
// newline. The bytes are valid until the next call.
func (lw *listWriter) encode(v any, prefix string) ([]byte, error) {
	lw.buf.Reset()
	lw.enc.SetIndent(prefix, "  ")
	if err := lw.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(lw.buf.Bytes(), []byte("\n")), nil
}

// head writes the document up to its first task, once.
func (lw *listWriter) head() error {
	if lw.open {
		return nil
	}
	job, err := lw.encode(lw.job, "")
	if err != nil {
		return err
	}
	lw.w.WriteString("{\n  \"job_id\": ")
	lw.w.Write(job)
	lw.w.WriteString(",\n  \"tasks\": [")
	lw.open = true
	return nil
}

// task writes the next task.
func (lw *listWriter) task(t listTask) error {
	if err := lw.head(); err != nil {
		return err
	}
	b, err := lw.encode(t, "    ")
	if err != nil {
		return err
	}
	if lw.tasks > 0 {
		lw.w.WriteByte(',')
	}
	lw.w.WriteString("\n    ")
	lw.w.Write(b)
	lw.tasks++
	return nil
}

// flush hands what is written on to the output.
func (lw *listWriter) flush() error { return lw.w.Flush() }

// end closes the document with cursor, and flushes it.
func (lw *listWriter) end(cursor string) error {
	if err := lw.head(); err != nil {
		return err
	}
	if lw.tasks > 0 {
		lw.w.WriteString("\n  ")
	}
	c, err := lw.encode(cursor, "")
	if err != nil {
		return err
	}
	lw.w.WriteString("],\n  \"cursor\": ")
	lw.w.Write(c)
	lw.w.WriteString("\n}\n")
	return lw.w.Flush()
}
