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
when standard error is a terminal.`,
		nArg: [2]int{1, 2},
		flags: func(fs *flagSet) {
			fs.StringVar(&format, "format", "auto", "input `format`: auto, jsonl or csv")
			fs.IntVar(&batch, "batch", 500, "`N` tasks per CreateTasks call")
			fs.BoolVar(&skipInvalid, "skip-invalid", false, "write the valid tasks and list the rejected lines, instead of refusing the whole input")
			fs.BoolVar(&dryRun, "dry-run", false, "validate the input and write nothing")
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
			name, in := "stdin", a.stdin
			if len(args) == 2 && args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return fmt.Errorf("open input: %w", err)
				}
				defer f.Close()
				name, in = args[1], f
			}
			return a.enqueue(ctx, job, name, in, enqueueOptions{format: format, batch: batch, skipInvalid: skipInvalid, dryRun: dryRun})
		},
	}
}

type enqueueOptions struct {
	format              string
	batch               int
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

	existingIDs []string
}

// inputTask is a valid task and the line it came from.
type inputTask struct {
	line int
	task tracker.NewTask
}

func (a *app) enqueue(ctx context.Context, job, name string, in io.Reader, o enqueueOptions) error {
	br := bufio.NewReaderSize(in, 64*1024)
	format := o.format
	if format == "auto" {
		format = detectFormat(name, br)
	}
	var (
		lines []inputTask
		rej   []rejection
		err   error
	)
	if format == "csv" {
		lines, rej, err = parseCSV(br)
	} else {
		lines, rej, err = parseJSONLines(br)
	}
	var le *lineError
	if errors.As(err, &le) {
		return failf(kindInvalidInput, "%s:%d: %s; nothing was written", name, le.line, le.msg)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	lines, rej = validate(job, lines, rej)
	sum := &enqueueSummary{JobID: job, Input: name, Read: len(lines) + len(rej), Valid: len(lines), Rejected: rej}
	if sum.Read == 0 {
		return failf(kindInvalidInput, "%s holds no tasks", name)
	}
	if len(rej) > 0 && !o.skipInvalid {
		if a.opts.json {
			if err := printJSON(a.stdout, sum); err != nil {
				return err
			}
		}
		if len(rej) == 1 {
			return failf(kindInvalidInput, "%s:%d: %s; nothing was written (fix the line, or pass --skip-invalid to write the %s)",
				name, rej[0].Line, rej[0].Reason, plural(len(lines), "valid task"))
		}
		if !a.opts.json { // the JSON summary on stdout lists them
			for _, r := range rej {
				fmt.Fprintf(a.stderr, "%s:%d: %s\n", escape(name), r.Line, escape(r.Reason))
			}
		}
		return failf(kindInvalidInput, "%d of %d lines of %s are invalid; nothing was written (fix them, or pass --skip-invalid to write the %s)",
			len(rej), sum.Read, name, plural(len(lines), "valid task"))
	}
	if !o.dryRun && len(lines) > 0 {
		if err := a.write(ctx, job, lines, o.batch, sum); err != nil {
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

// write creates the tasks in batches, counting into sum.
func (a *app) write(ctx context.Context, job string, lines []inputTask, batch int, sum *enqueueSummary) error {
	tr, err := a.tracker(ctx)
	if err != nil {
		return err
	}
	bar := a.progress("enqueue "+job, len(lines))
	bar.set(0)
	for start := 0; start < len(lines); start += batch {
		chunk := lines[start:min(start+batch, len(lines))]
		tasks := make([]tracker.NewTask, len(chunk))
		for i, l := range chunk {
			tasks[i] = l.task
		}
		res, err := tr.CreateTasks(ctx, job, tasks)
		if err != nil {
			bar.done()
			if start == 0 {
				return err
			}
			return fmt.Errorf("enqueue stopped at line %d after %d of %d tasks (%d created, %d existing): %s; run the same command again to finish: tasks that exist are skipped",
				chunk[0].line, start, len(lines), sum.Created, sum.Existing, oneLine(a.explain(err)))
		}
		sum.Created += len(res.Created)
		sum.Existing += len(res.Existing)
		sum.existingIDs = append(sum.existingIDs, res.Existing...)
		bar.set(start + len(chunk))
	}
	bar.done()
	return nil
}

func (a *app) printEnqueue(sum *enqueueSummary, dryRun bool) {
	w := a.stdout
	fmt.Fprintf(w, "job %s: %s read from %s\n", escape(sum.JobID), plural(sum.Read, "task"), escape(sum.Input))
	if dryRun {
		fmt.Fprintf(w, "  valid     %d (dry run: nothing written)\n", sum.Valid)
	} else {
		fmt.Fprintf(w, "  created   %d\n", sum.Created)
		fmt.Fprintf(w, "  existing  %d", sum.Existing)
		if len(sum.existingIDs) > 0 {
			fmt.Fprintf(w, " (left as they are: %s)", idList(sum.existingIDs, 5))
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

// parseJSONLines reads one task a line; blank lines are skipped.
func parseJSONLines(r *bufio.Reader) ([]inputTask, []rejection, error) {
	var (
		tasks []inputTask
		rej   []rejection
	)
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			nt, perr := parseJSONTask(b)
			if perr != nil {
				rej = append(rej, rejection{Line: line, TaskID: nt.ID, Reason: perr.Error()})
			} else {
				tasks = append(tasks, inputTask{line: line, task: nt})
			}
		}
		if errors.Is(err, io.EOF) {
			return tasks, rej, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read line %d: %w", line, err)
		}
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

// parseCSV reads a header "task_id,data" (or "task_id") and one task a record.
func parseCSV(r io.Reader) ([]inputTask, []rejection, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, &lineError{line: 1, msg: "invalid CSV header: " + err.Error()}
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
		return nil, nil, &lineError{line: 1, msg: fmt.Sprintf("the CSV header must be task_id,data (or task_id alone), got %q", strings.Join(header, ","))}
	}
	var (
		tasks []inputTask
		rej   []rejection
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return tasks, rej, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			reason := "invalid CSV: " + pe.Err.Error()
			if errors.Is(pe.Err, csv.ErrBareQuote) {
				reason += " (quote data that holds quotes or commas, doubling its inner quotes)"
			}
			rej = append(rej, rejection{Line: pe.Line, Reason: reason})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			rej = append(rej, rejection{Line: line, Reason: fmt.Sprintf("want %d fields (%s), got %d: quote data that holds commas, doubling its inner quotes",
				len(header), strings.Join(header, ","), len(rec))})
			continue
		}
		nt := tracker.NewTask{ID: rec[idCol]}
		if dataCol >= 0 && strings.TrimSpace(rec[dataCol]) != "" {
			nt.Data = json.RawMessage(rec[dataCol])
		}
		tasks = append(tasks, inputTask{line: line, task: nt})
	}
}

// validate checks every task as CreateTasks will, and that no task id repeats, moving the
// invalid ones to the rejections ordered by line.
func validate(job string, lines []inputTask, rej []rejection) ([]inputTask, []rejection) {
	seen := make(map[string]int, len(lines))
	valid := lines[:0]
	for _, l := range lines {
		if err := tracker.ValidateID(job, l.task.ID); err != nil {
			rej = append(rej, rejection{Line: l.line, TaskID: l.task.ID, Reason: err.Error()})
			continue
		}
		data, err := tracker.NormalizeData(l.task.Data)
		if err != nil {
			rej = append(rej, rejection{Line: l.line, TaskID: l.task.ID, Reason: err.Error()})
			continue
		}
		if first, dup := seen[l.task.ID]; dup {
			rej = append(rej, rejection{Line: l.line, TaskID: l.task.ID, Reason: fmt.Sprintf("task_id %q repeats line %d", l.task.ID, first)})
			continue
		}
		seen[l.task.ID] = l.line
		l.task.Data = data
		valid = append(valid, l)
	}
	sortRejections(rej)
	if rej == nil {
		rej = []rejection{}
	}
	return valid, rej
}

func sortRejections(rej []rejection) {
	sort.SliceStable(rej, func(i, j int) bool { return rej[i].Line < rej[j].Line })
}

// lineError is a fault that makes the whole input unreadable, at a line.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %s", e.line, e.msg) }
