package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func errorsCommand() *command {
	var limit int
	return &command{
		name:    "errors",
		args:    "JOB",
		summary: "the ways a job's tasks fail now: failure groups, largest first",
		help: `Show the ways JOB's tasks fail now, one line a failure group, largest first: the tasks
that are failed, or ignored after a failure, whose current failure has one fingerprint (the
error's type, its message with ids, numbers, paths and quoted values made placeholders, and the
top frames of its traceback: package fingerprint). Each line gives the group's fingerprint, its
tasks (failed, ignored), its first and last failure, the task of its latest failure, and that
failure's type and normalised message.

The groups come from the failure index, read whole but a key at a time (about 100 bytes a
failed task, in parallel); each group shown reads its sample task. Retry or ignore a group on
the server with trackerctl retry JOB --fingerprint F; list its tasks with trackerctl list JOB
--fingerprint F; show its sample whole with trackerctl show JOB --fingerprint F.

--limit shows the largest groups only (0: all). JSON gives every group shown with its sample's
error, traceback and fingerprint parts.`,
		nArg: [2]int{1, 1},
		flags: func(fs *flagSet) {
			fs.IntVar(&limit, "limit", 20, "show the `N` largest groups (0: all)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job := args[0]
			if err := checkJob(job); err != nil {
				return err
			}
			if limit < 0 {
				return usagef("--limit %d: want 0 or more", limit)
			}
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			samples := limit
			if samples == 0 {
				samples = 1 << 30
			}
			groups, err := tr.Groups(ctx, job, tracker.GroupOptions{Samples: samples})
			if err != nil {
				return err
			}
			if len(groups) == 0 {
				if _, _, err := a.countJob(ctx, tr, job); err != nil {
					return err
				}
			}
			return a.printErrors(job, groups, limit)
		},
	}
}

// errorsReport is the JSON output of errors.
type errorsReport struct {
	JobID string `json:"job_id"`
	// Tasks, Failed and Ignored add up every group's tasks; Groups counts the groups, of which
	// Shown are listed.
	Tasks   int         `json:"tasks"`
	Failed  int         `json:"failed"`
	Ignored int         `json:"ignored"`
	Groups  int         `json:"groups"`
	Shown   []groupView `json:"shown"`
	Time    time.Time   `json:"time"`
}

// groupView is a group in the JSON output of errors.
type groupView struct {
	Fingerprint string    `json:"fingerprint"`
	Tasks       int       `json:"tasks"`
	Failed      int       `json:"failed"`
	Ignored     int       `json:"ignored"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	// Sample is the task of the group's latest failure, with its error and traceback and the
	// parts its fingerprint is computed from; null when it moved on since it was counted.
	Sample *sampleParts `json:"sample"`
}

// sampleParts is a group's sample failure.
type sampleParts struct {
	TaskID    string   `json:"task_id"`
	Error     string   `json:"error"`
	Traceback string   `json:"traceback"`
	Type      string   `json:"type"`
	Message   string   `json:"message"`
	Frames    []string `json:"frames"`
}

// sampleOf is a group's sample, with the parts of its fingerprint as the current algorithm
// computes them from the stored error (the group's fingerprint may be of another version).
func sampleOf(g tracker.Group) *sampleParts {
	t := g.Sample
	if t == nil || t.Error == nil {
		return nil
	}
	fp := fingerprint.Compute(t.Error.Error, t.Error.Traceback)
	s := &sampleParts{TaskID: t.TaskID, Error: t.Error.Error, Traceback: t.Error.Traceback, Type: fp.Type, Message: fp.Message, Frames: []string{}}
	for _, f := range fp.Frames {
		s.Frames = append(s.Frames, f.String())
	}
	return s
}

// printErrors prints the groups: a line on the job, then a line a group, the largest first.
func (a *app) printErrors(job string, groups []tracker.Group, limit int) error {
	rep := errorsReport{JobID: job, Groups: len(groups), Shown: []groupView{}, Time: a.now().UTC()}
	for i, g := range groups {
		rep.Tasks += g.Tasks
		rep.Failed += g.Failed
		rep.Ignored += g.Ignored
		if limit == 0 || i < limit {
			rep.Shown = append(rep.Shown, groupView{Fingerprint: g.Fingerprint, Tasks: g.Tasks, Failed: g.Failed, Ignored: g.Ignored,
				FirstSeen: g.FirstSeen.UTC(), LastSeen: g.LastSeen.UTC(), Sample: sampleOf(g)})
		}
	}
	if a.opts.json {
		return printJSON(a.stdout, rep)
	}
	w := a.stdout
	if len(groups) == 0 {
		fmt.Fprintf(w, "job %s has no failing task: none is failed, nor ignored after a failure\n", escape(job))
		return nil
	}
	fmt.Fprintf(w, "job %s: %s fail now, in %s (failed %d, ignored %d)\n\n", escape(job), plural(rep.Tasks, "task"),
		plural(len(groups), "way"), rep.Failed, rep.Ignored)
	tw := newTable(w)
	fmt.Fprintln(tw, "FINGERPRINT\tTASKS\tFAILED\tIGNORED\tFIRST SEEN\tLAST SEEN\tSAMPLE\tERROR")
	for _, g := range rep.Shown {
		sample, msg := "-", "-"
		if s := g.Sample; s != nil {
			sample = escape(clip(s.TaskID, 24))
			msg = s.Message
			if s.Type != "" {
				msg = s.Type + ": " + msg
			}
			msg = escape(clip(oneLine(msg), a.width()/2))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", escape(g.Fingerprint), g.Tasks, g.Failed, g.Ignored, stamp(g.FirstSeen), stamp(g.LastSeen), sample, msg)
	}
	tw.Flush()
	if n := len(groups) - len(rep.Shown); n > 0 {
		fmt.Fprintf(w, "… %s more (--limit 0 shows all)\n", plural(n, "group"))
	}
	fmt.Fprintf(w, "\n%s\n", strings.Join([]string{
		"a group's tasks: trackerctl list " + escape(job) + " --fingerprint F; its sample whole: trackerctl show " + escape(job) + " --fingerprint F",
		"retry or ignore a group on the server: trackerctl retry|ignore " + escape(job) + " --fingerprint F",
	}, "\n"))
	return nil
}
