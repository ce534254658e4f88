// Command goworker fails the way a Go worker run by worker.Pool fails, for the fingerprint
// tests: it reads a task (a claim's output) on stdin, runs handle on it as the pool does (a
// panic is a failed attempt whose traceback is debug.Stack(), an error is stored as
// err.Error()) and prints the failure {"error", "traceback"} as the tracker stores it, or
// {} when the task succeeded. The tests copy it to a module of its own and build it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// task is what the worker reads of a claim's output.
type task struct {
	TaskID string `json:"task_id"`
	Data   struct {
		Text  *string `json:"text"`
		Limit string  `json:"limit"`
	} `json:"data"`
}

// failure is a failed attempt as the tracker stores it (tracker.Failure).
type failure struct {
	Error     string `json:"error,omitempty"`
	Traceback string `json:"traceback,omitempty"`
}

func main() {
	var t task
	if err := json.NewDecoder(os.Stdin).Decode(&t); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(call(t)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

// call runs handle as worker.Pool does (worker/worker.go, call and its failure record).
func call(t task) (f failure) {
	defer func() {
		if r := recover(); r != nil {
			f = failure{Error: fmt.Sprintf("panic: %v", r), Traceback: string(debug.Stack())}
		}
	}()
	if err := handle(t); err != nil {
		return failure{Error: err.Error()}
	}
	return failure{}
}

// handle counts the words of the task's text, failing in a different place for each way the
// task can be wrong.
func handle(t task) error {
	checkText(t)
	words := countWords(t.Data.Text)
	requireWords(t, words)
	if t.Data.Limit != "" {
		if _, err := strconv.Atoi(t.Data.Limit); err != nil {
			return fmt.Errorf("task %s: limit: %w", t.TaskID, err)
		}
	}
	return nil
}

// checkText panics when the task's text is empty.
func checkText(t task) {
	if t.Data.Text != nil && *t.Data.Text == "" {
		panic(fmt.Sprintf("task %s has no text", t.TaskID))
	}
}

// countWords counts the words of text; a task without a text is a nil pointer dereference.
func countWords(text *string) int {
	return len(strings.Fields(*text))
}

// requireWords panics, with the same message as checkText, when the text has no word.
func requireWords(t task, words int) {
	if words == 0 {
		panic(fmt.Sprintf("task %s has no text", t.TaskID))
	}
}
