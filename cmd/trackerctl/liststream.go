package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// readList reads job's listing and hands it to batch in order, a run of tasks at a time with
// the cursor that resumes after them. With all it reads every task from opts.Cursor on
// (tracker.ListAll: a listing by failure reads several partitions of the failure index at
// once), in runs of opts.Limit, the last one's cursor empty; without, one page and its
// cursor. It returns the first error, batch's or the listing's; when the listing fails, the
// tasks read before the error are handed to batch first.
func readList(ctx context.Context, tr *tracker.Tracker, job string, opts tracker.ListOptions, all bool, batch func(tasks []tracker.Task, cursor string) error) error {
	if !all {
		page, err := tr.List(ctx, job, opts)
		if err != nil {
			return listError(err)
		}
		return batch(page.Tasks, page.Cursor)
	}
	size := cmp.Or(opts.Limit, tracker.DefaultPageLimit)
	tasks := make([]tracker.Task, 0, size)
	var last tracker.ListedTask
	for lt, err := range tr.ListAll(ctx, job, opts) {
		if err != nil {
			if len(tasks) > 0 {
				if berr := batch(tasks, last.Cursor()); berr != nil {
					return berr
				}
			}
			return listError(err)
		}
		tasks, last = append(tasks, lt.Task), lt
		if len(tasks) == size {
			if err := batch(tasks, lt.Cursor()); err != nil {
				return err
			}
			tasks = tasks[:0]
		}
	}
	return batch(tasks, "")
}

// listError is an error of a listing as the command reports it: a refusal of its options is
// a usage error.
func listError(err error) error {
	var ve *tracker.ValidationError
	if errors.As(err, &ve) {
		return usagef("%v", err)
	}
	return err
}

// streamList writes list's JSON document as the listing is read (readList), the next tasks
// read while the last are written: the document the whole listing would give, without
// holding the listing. When the listing fails after some tasks were written, the document is
// closed with the cursor after the last task written, from which --cursor resumes, and the
// error is returned (a non-zero exit); when it fails before its first task, nothing is
// written.
func (a *app) streamList(ctx context.Context, tr *tracker.Tracker, job string, opts tracker.ListOptions, all bool) error {
	lease := tr.Config().LeaseDuration
	w := newListWriter(a.stdout, job)
	// cursor is where the listing resumes after the tasks written so far.
	cursor := opts.Cursor
	var werr error // writing failed: the document cannot be closed
	err := readList(ctx, tr, job, opts, all, func(tasks []tracker.Task, next string) error {
		msgs, err := a.currentErrors(ctx, tr, job, tasks)
		if err != nil {
			return err
		}
		for i := range tasks {
			t := listTask{taskView: a.view(&tasks[i], lease), Failure: tasks[i].Failure}
			if msgs[i] != "" {
				t.LastError = &msgs[i]
			}
			if werr = w.task(t); werr != nil {
				return werr
			}
		}
		if werr = w.flush(); werr != nil {
			return werr
		}
		cursor = next
		return nil
	})
	switch {
	case werr != nil:
		return werr
	case err != nil:
		if w.started() {
			w.end(cursor) // the error at hand is the one to report
		}
		return err
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
	w   *bufio.Writer
	job string
	buf bytes.Buffer // a value compact, as enc writes it
	// compact is a task's JSON (appendListTask), and out a value's indented.
	compact, out []byte
	enc          *json.Encoder
	open         bool // the document's head is written
	tasks        int  // tasks written
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
	if err := lw.enc.Encode(v); err != nil {
		return nil, err
	}
	lw.out = appendIndented(lw.out[:0], bytes.TrimSuffix(lw.buf.Bytes(), []byte("\n")), prefix, "  ")
	return lw.out, nil
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
	compact, err := appendListTask(lw.compact[:0], &t)
	if err != nil {
		return err
	}
	lw.compact = compact
	lw.out = appendIndented(lw.out[:0], compact, "    ", "  ")
	b := lw.out
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
