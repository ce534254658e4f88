package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// maxBatch bounds --batch: one CreateTasks call holds the whole batch in memory and looks
// its ids up before writing.
const maxBatch = 10000

func enqueueCommand() *command {
	var (
		format      string
		batch       int
		skipInvalid bool
		dryRun      bool
		shards      int
	)
	return &command{
		name:    "enqueue",
		args:    "JOB [FILE|-]",
		summary: "create the tasks of a job from a JSON lines or CSV file",
		help: `Create the tasks of JOB as todo tasks, from FILE or standard input (no FILE, or -).

Input is JSON lines, one task a line:
    {"task_id": "t-1", "data": {"path": "s3://bucket/in/1.json"}}
or CSV with a header line "task_id,data", where data is a JSON object (quoted, with inner
quotes doubled, as CSV requires) or empty:
    task_id,data
    t-1,"{""path"": ""s3://bucket/in/1.json""}"
    t-2,
The format follows the file name (.csv, .jsonl, .ndjson, .json) or, on standard input, the
first character ({ means JSON lines); --format overrides it.

The whole input is validated before anything is written: a malformed line, an invalid task id
or data, or a task id that repeats is reported with its line number and nothing is written.
With --skip-invalid the valid tasks are written and the rejected lines are listed. Tasks that
already exist are left as they are and counted as existing, so running the same file again is
safe. Tasks are written through tracker.CreateTasks, --batch at a time, with a progress bar
when standard error is a terminal.

--shards N (2 to 64) spreads each status of a new job over N index keys, so that one job can
run past about 500 tasks a second (each in-progress key takes at most 1,000 write units a
second). A job's shards are set when it is created and never change: --shards on a job that
has tasks laid out otherwise is refused before anything is written. The seed's code sees a
sharded job's tasks by their keys, but its status queries find none of them.`,
		nArg: [2]int{1, 2},
		flags: func(fs *flagSet) {
			fs.StringVar(&format, "format", "auto", "input `format`: auto, jsonl or csv")
			fs.IntVar(&batch, "batch", 500, "`N` tasks per CreateTasks call")
			fs.BoolVar(&skipInvalid, "skip-invalid", false, "write the valid tasks and list the rejected lines, instead of refusing the whole input")
			fs.BoolVar(&dryRun, "dry-run", false, "validate the input and write nothing")
			fs.IntVar(&shards, "shards", 0, "create the job with its statuses spread over `N` index keys (a new job only)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job := args[0]
			if err := checkJob(job); err != nil {
				return err
			}
			if format != "auto" && format != "jsonl" && format != "csv" {
				return usagef("--format %q: want auto, jsonl or csv", format)
			}
			if batch < 1 || batch > maxBatch {
				return usagef("--batch %d: want 1..%d", batch, maxBatch)
			}
			if shards != 0 && (shards < 2 || shards > tracker.MaxShards) {
				return usagef("--shards %d: want 2..%d (1, the default, is the seed's layout)", shards, tracker.MaxShards)
			}
			name, in := "stdin", a.stdin
			if len(args) == 2 && args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return fmt.Errorf("open input: %w", err)
				}
				defer f.Close()
				name, in = args[1], f
			}
			return a.enqueue(ctx, job, name, in, enqueueOptions{format: format, batch: batch, skipInvalid: skipInvalid, dryRun: dryRun, shards: shards})
		},
	}
}

type enqueueOptions struct {
	format              string
	batch, shards       int
	skipInvalid, dryRun bool
}

// rejection is an input line that cannot become a task.
type rejection struct {
	Line   int    `json:"line"`
	TaskID string `json:"task_id,omitempty"`
	Reason string `json:"reason"`
}

// enqueueSummary is what enqueue did.
type enqueueSummary struct {
	JobID string `json:"job_id"`
	Input string `json:"input"`
	// Read counts the tasks in the input, valid or not.
	Read     int `json:"read"`
	Valid    int `json:"valid"`
	Created  int `json:"created"`
	Existing int `json:"existing"`
	// Rejected lists the invalid lines; never null.
	Rejected []rejection `json:"rejected"`
	// Written is false when nothing was written: invalid input without --skip-invalid, or
	// --dry-run.
	Written bool `json:"written"`

	// existingIDs are the first maxExistingShown of the tasks that existed.
	existingIDs []string
}

// inputTask is a valid task and the line it came from.
type inputTask struct {
	line int
	task tracker.NewTask
}

// enqueue reads the input twice, holding one batch of tasks at a time: a first pass parses
// and validates every line, so that invalid input writes nothing; a second pass reads it
// again and writes the valid tasks a batch at a time. A file is read twice; standard input,
// unless it is redirected from a file, is copied to a temporary file during the first pass.
// What stays in memory for the whole input is one small entry per task id (to refuse a
// repeated id) and the rejections, which the summary lists.
func (a *app) enqueue(ctx context.Context, job, name string, in io.Reader, o enqueueOptions) error {
	src, err := newReplayable(in, !o.dryRun, a.getenv("TMPDIR"))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer src.close()
	br := newInput(src.first())
	format := o.format
	if format == "auto" {
		format = detectFormat(name, br)
	}
	v := newValidator(job)
	var rej []rejection
	valid := 0
	err = readInput(format, br, func(l inputTask, r *rejection) error {
		if r == nil {
			_, r = v.check(l)
		}
		if r != nil {
			rej = append(rej, *r)
			return nil
		}
		valid++
		return nil
	})
	var le *lineError
	if errors.As(err, &le) {
		return failf(kindInvalidInput, "%s:%d: %s; nothing was written", name, le.line, le.msg)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	sortRejections(rej)
	if rej == nil {
		rej = []rejection{}
	}
	sum := &enqueueSummary{JobID: job, Input: name, Read: valid + len(rej), Valid: valid, Rejected: rej}
	if sum.Read == 0 {
		return failf(kindInvalidInput, "%s holds no tasks", name)
	}
	if len(rej) > 0 && !o.skipInvalid {
		return a.refuseInvalid(name, sum)
	}
	if !o.dryRun && valid > 0 {
		second, err := src.again()
		if err != nil {
			return fmt.Errorf("%s: read again: %w", name, err)
		}
		skip := make(map[int]bool, len(rej))
		for _, r := range rej {
			skip[r.Line] = true
		}
		if err := a.write(ctx, job, name, format, newInput(second), skip, o, sum); err != nil {
			return err
		}
		sum.Written = true
	}
	if a.opts.json {
		return printJSON(a.stdout, sum)
	}
	a.printEnqueue(sum, o.dryRun)
	return nil
}

// refuseInvalid reports the invalid lines of an input that is not written for them.
func (a *app) refuseInvalid(name string, sum *enqueueSummary) error {
	rej, valid := sum.Rejected, sum.Valid
	if a.opts.json {
		if err := printJSON(a.stdout, sum); err != nil {
			return err
		}
	}
	if len(rej) == 1 {
		return failf(kindInvalidInput, "%s:%d: %s; nothing was written (fix the line, or pass --skip-invalid to write the %s)",
			name, rej[0].Line, rej[0].Reason, plural(valid, "valid task"))
	}
	if !a.opts.json { // the JSON summary on stdout lists them
		for _, r := range rej {
			fmt.Fprintf(a.stderr, "%s:%d: %s\n", escape(name), r.Line, escape(r.Reason))
		}
	}
	return failf(kindInvalidInput, "%d of %d lines of %s are invalid; nothing was written (fix them, or pass --skip-invalid to write the %s)",
		len(rej), sum.Read, name, plural(valid, "valid task"))
}

// errInputChanged is an input that read differently the second time.
var errInputChanged = errors.New("the input changed while enqueue read it; run the same command again: tasks that exist are skipped")

// write reads the input again, skipping the lines the first pass rejected, and creates the
// tasks in batches, counting into sum.
func (a *app) write(ctx context.Context, job, name, format string, br *bufio.Reader, skip map[int]bool, o enqueueOptions, sum *enqueueSummary) error {
	tr, err := a.tracker(ctx)
	if err != nil {
		return err
	}
	if o.shards > 0 {
		if _, err := tr.CreateJob(ctx, job, tracker.JobOptions{Shards: o.shards}); errors.Is(err, tracker.ErrJobExists) {
			return failf(kindRefused, "job %s exists with other shards than %d, and a job's shards never change; nothing was written (leave out --shards to add tasks to it)", job, o.shards)
		} else if err != nil {
			return err
		}
	}
	batch := o.batch
	bar := a.progress("enqueue "+job, sum.Valid)
	bar.set(0)
	defer bar.done()
	v := newValidator(job)
	chunk := make([]inputTask, 0, batch)
	tasks := make([]tracker.NewTask, 0, batch)
	done := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		tasks = tasks[:0]
		for _, l := range chunk {
			tasks = append(tasks, l.task)
		}
		res, err := tr.CreateTasks(ctx, job, tasks)
		if err != nil {
			if done == 0 {
				return err
			}
			return fmt.Errorf("enqueue stopped at line %d after %d of %d tasks (%d created, %d existing): %s; run the same command again to finish: tasks that exist are skipped",
				chunk[0].line, done, sum.Valid, sum.Created, sum.Existing, oneLine(a.explain(err)))
		}
		sum.Created += len(res.Created)
		sum.Existing += len(res.Existing)
		if room := maxExistingShown - len(sum.existingIDs); room > 0 {
			sum.existingIDs = append(sum.existingIDs, res.Existing[:min(room, len(res.Existing))]...)
		}
		done += len(chunk)
		bar.set(done)
		// Drop the batch's data, so that only the next batch's stays reachable.
		clear(chunk)
		clear(tasks)
		chunk = chunk[:0]
		return nil
	}
	err = readInput(format, br, func(l inputTask, r *rejection) error {
		if skip[l.line] || (r != nil && skip[r.Line]) {
			return nil
		}
		if r != nil {
			return errInputChanged
		}
		l, r = v.check(l)
		if r != nil {
			return errInputChanged
		}
		chunk = append(chunk, l)
		if len(chunk) == batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil && done != sum.Valid {
		err = errInputChanged
	}
	if errors.Is(err, errInputChanged) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return err
}

// maxExistingShown is how many ids of existing tasks the summary names.
const maxExistingShown = 5

func (a *app) printEnqueue(sum *enqueueSummary, dryRun bool) {
	w := a.stdout
	fmt.Fprintf(w, "job %s: %s read from %s\n", escape(sum.JobID), plural(sum.Read, "task"), escape(sum.Input))
	if dryRun {
		fmt.Fprintf(w, "  valid     %d (dry run: nothing written)\n", sum.Valid)
	} else {
		fmt.Fprintf(w, "  created   %d\n", sum.Created)
		fmt.Fprintf(w, "  existing  %d", sum.Existing)
		if len(sum.existingIDs) > 0 {
			fmt.Fprintf(w, " (left as they are: %s", idList(sum.existingIDs, maxExistingShown))
			if more := sum.Existing - len(sum.existingIDs); more > 0 {
				fmt.Fprintf(w, ", … (%d more)", more)
			}
			fmt.Fprint(w, ")")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  rejected  %d\n", len(sum.Rejected))
	for _, r := range sum.Rejected {
		fmt.Fprintf(w, "    line %d: %s\n", r.Line, escape(r.Reason))
	}
}

// detectFormat picks csv or jsonl from the file name, else from the first character.
func detectFormat(name string, br *bufio.Reader) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return "csv"
	case ".jsonl", ".ndjson", ".json":
		return "jsonl"
	}
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) < n || err != nil {
			return "jsonl"
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return "jsonl"
		default:
			return "csv"
		}
	}
}

// newInput buffers r and drops a UTF-8 byte order mark at its start, which editors on
// Windows write in front of CSV and JSON lines alike.
func newInput(r io.Reader) *bufio.Reader {
	br := bufio.NewReaderSize(r, 64*1024)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\ufeff")) {
		br.Discard(3)
	}
	return br
}

// readInput calls each for every record of the input in order: a task and its line, or
// the rejection of a line that cannot become a task (then the task is zero). It stops at
// the first error, each's or the input's.
func readInput(format string, br *bufio.Reader, each func(inputTask, *rejection) error) error {
	if format == "csv" {
		return eachCSV(br, each)
	}
	return eachJSONLine(br, each)
}

// maxLineBytes bounds a JSON line, so that one runaway line cannot fill the memory: a task's
// data is at most tracker.MaxDataBytes once compacted.
const maxLineBytes = 4 << 20

// eachJSONLine reads one task a line; blank lines are skipped.
func eachJSONLine(r *bufio.Reader, each func(inputTask, *rejection) error) error {
	for line := 1; ; line++ {
		b, tooLong, err := readLine(r)
		var ferr error
		switch {
		case tooLong:
			ferr = each(inputTask{line: line}, &rejection{Line: line, Reason: fmt.Sprintf("line longer than %d MiB", maxLineBytes>>20)})
		case len(bytes.TrimSpace(b)) > 0:
			nt, perr := parseJSONTask(b)
			if perr != nil {
				ferr = each(inputTask{line: line}, &rejection{Line: line, TaskID: nt.ID, Reason: perr.Error()})
			} else {
				ferr = each(inputTask{line: line, task: nt}, nil)
			}
		}
		if ferr != nil {
			return ferr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read line %d: %w", line, err)
		}
	}
}

// readLine returns the next line, or skips it to its end and reports it too long when it
// is over maxLineBytes. The line is valid until the next read from r.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(buf)+len(frag) > maxLineBytes {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			return nil, true, err
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if buf == nil {
				return frag, false, err
			}
			return append(buf, frag...), false, err
		}
		buf = append(buf, frag...)
	}
}

func parseJSONTask(b []byte) (tracker.NewTask, error) {
	b = bytes.TrimSpace(b)
	if b[0] != '{' {
		return tracker.NewTask{}, errors.New(`not a JSON object: want {"task_id": "...", "data": {...}}`)
	}
	var rec struct {
		TaskID json.RawMessage `json:"task_id"`
		Data   json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if strings.HasPrefix(msg, "unknown field") {
			return tracker.NewTask{}, fmt.Errorf("%s (want task_id and data)", msg)
		}
		return tracker.NewTask{}, fmt.Errorf("invalid JSON: %s", msg)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return tracker.NewTask{}, errors.New("invalid JSON: text after the object (one task a line)")
	}
	if rec.TaskID == nil {
		return tracker.NewTask{}, errors.New("missing task_id")
	}
	var id string
	if err := json.Unmarshal(rec.TaskID, &id); err != nil {
		return tracker.NewTask{}, fmt.Errorf("task_id must be a string, got %s", clip(string(rec.TaskID), 40))
	}
	return tracker.NewTask{ID: id, Data: rec.Data}, nil
}

// eachCSV reads a header "task_id,data" (or "task_id") and one task a record.
func eachCSV(r io.Reader, each func(inputTask, *rejection) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return &lineError{line: 1, msg: "invalid CSV header: " + err.Error()}
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	idCol, dataCol, bad := -1, -1, len(header) > 2
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "task_id":
			idCol = i
		case "data":
			dataCol = i
		default:
			bad = true
		}
	}
	if bad || idCol < 0 {
		return &lineError{line: 1, msg: fmt.Sprintf("the CSV header must be task_id,data (or task_id alone), got %q", strings.Join(header, ","))}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			reason := "invalid CSV: " + pe.Err.Error()
			if errors.Is(pe.Err, csv.ErrBareQuote) {
				reason += " (quote data that holds quotes or commas, doubling its inner quotes)"
			}
			if err := each(inputTask{line: pe.Line}, &rejection{Line: pe.Line, Reason: reason}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			r := rejection{Line: line, Reason: fmt.Sprintf("want %d fields (%s), got %d: quote data that holds commas, doubling its inner quotes",
				len(header), strings.Join(header, ","), len(rec))}
			if err := each(inputTask{line: line}, &r); err != nil {
				return err
			}
			continue
		}
		nt := tracker.NewTask{ID: rec[idCol]}
		if dataCol >= 0 && strings.TrimSpace(rec[dataCol]) != "" {
			nt.Data = json.RawMessage(rec[dataCol])
		}
		if err := each(inputTask{line: line, task: nt}, nil); err != nil {
			return err
		}
	}
}

// validator checks tasks one at a time as CreateTasks will, and that no task id repeats.
type validator struct {
	job string
	// seen holds the line of each valid task id; the id is copied, since a CSV field
	// shares its memory with the whole record.
	seen map[string]int
}

func newValidator(job string) *validator { return &validator{job: job, seen: map[string]int{}} }

// check returns the task with its data compacted, or why it is invalid. A rejection holds
// a copy of the id, like seen.
func (v *validator) check(l inputTask) (inputTask, *rejection) {
	reject := func(reason string) (inputTask, *rejection) {
		return l, &rejection{Line: l.line, TaskID: strings.Clone(l.task.ID), Reason: reason}
	}
	if err := tracker.ValidateID(v.job, l.task.ID); err != nil {
		return reject(err.Error())
	}
	data, err := tracker.NormalizeData(l.task.Data)
	if err != nil {
		return reject(err.Error())
	}
	if first, dup := v.seen[l.task.ID]; dup {
		return reject(fmt.Sprintf("task_id %q repeats line %d", l.task.ID, first))
	}
	v.seen[strings.Clone(l.task.ID)] = l.line
	l.task.Data = data
	return l, nil
}

func sortRejections(rej []rejection) {
	sort.SliceStable(rej, func(i, j int) bool { return rej[i].Line < rej[j].Line })
}

// replayable is an input enqueue reads twice.
type replayable struct {
	in io.Reader
	// file is the input when it is a regular file, read again from offset.
	file   *os.File
	offset int64
	// spool is a temporary copy of an input that cannot be read again (a pipe), written
	// during the first read through w.
	spool *os.File
	w     *bufio.Writer
}

// newReplayable prepares in to be read twice, or once when twice is false. A copy goes in
// tmpDir (TMPDIR), or the system's temporary directory when it is empty.
func newReplayable(in io.Reader, twice bool, tmpDir string) (*replayable, error) {
	r := &replayable{in: in}
	if !twice {
		return r, nil
	}
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil {
				r.file, r.offset = f, off
				return r, nil
			}
		}
	}
	spool, err := os.CreateTemp(tmpDir, "trackerctl-enqueue-*")
	if err != nil {
		return nil, fmt.Errorf("copy standard input to read it twice: %w", err)
	}
	r.spool, r.w = spool, bufio.NewWriterSize(spool, 64*1024)
	return r, nil
}

// first returns the reader of the first pass.
func (r *replayable) first() io.Reader {
	if r.spool != nil {
		return io.TeeReader(r.in, r.w)
	}
	return r.in
}

// again returns the reader of the second pass, from where the first began.
func (r *replayable) again() (io.Reader, error) {
	switch {
	case r.file != nil:
		_, err := r.file.Seek(r.offset, io.SeekStart)
		return r.file, err
	case r.spool != nil:
		if err := r.w.Flush(); err != nil {
			return nil, err
		}
		_, err := r.spool.Seek(0, io.SeekStart)
		return r.spool, err
	}
	return nil, errors.New("input read once only")
}

// close removes the temporary copy, if any.
func (r *replayable) close() {
	if r.spool != nil {
		r.spool.Close()
		os.Remove(r.spool.Name())
	}
}

// lineError is a fault that makes the whole input unreadable, at a line.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %s", e.line, e.msg) }
