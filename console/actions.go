package console

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// An action is a POST to /act. Without confirm=yes it is a review: it changes nothing, says
// what the action would touch (a bulk action counts its selection, as a dry run does) and asks
// for confirmation with a form holding the same fields and confirm=yes. With it, the action
// runs, and the answer says what it did (or, for a bulk action, follows its progress).
//
// Fields: job; action (retry, ignore, run, register); scope (tasks, status, group) for retry
// and ignore; task (repeated) for the scope tasks; status; fingerprint; of (a review's count,
// carried to the progress page).

// Actions and scopes.
const (
	actRetry    = "retry"
	actIgnore   = "ignore"
	actRun      = "run"
	actRegister = "register"

	scopeTasks  = "tasks"
	scopeStatus = "status"
	scopeGroup  = "group"
)

// pastTense names what an action did.
var pastTense = map[string]string{actRetry: "retried", actIgnore: "ignored"}

// request is an action's form, checked.
type request struct {
	Job, Action, Scope  string
	Tasks               []string
	Status, Fingerprint string
	Confirmed           bool
	sel                 tracker.Selection
}

// reviewData is the confirmation page's.
type reviewData struct {
	layoutData
	request
	// Question asks for confirmation ("Retry 20 tasks ... of job J?"); Count is how many tasks
	// the action would touch now (-1 for a run or a registration).
	Question string
	Count    int
	Notes    []string
	// Nothing says why there is nothing to confirm (no task selected, a run live), when so.
	Nothing string
	Back    string
}

// doneData is the page that says what an action did.
type doneData struct {
	layoutData
	JobID    string
	Headline string
	Lines    []string
	Refused  []refusal
	Back     string
}

// refusal is a task an action left as it was, and why.
type refusal struct {
	TaskID, Reason string
}

// act reviews or runs an action (protect has checked that writes are allowed and the request
// is this console's own).
func (s *Server) act(w http.ResponseWriter, r *http.Request) {
	req, err := parseRequest(r.PostForm, s.maxSelected())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if !req.Confirmed {
		s.review(w, r, req)
		return
	}
	switch {
	case req.Action == actRun:
		s.startRun(w, r, req)
	case req.Action == actRegister:
		s.register(w, r)
	case req.Scope == scopeTasks:
		s.changeTasks(w, r, req)
	default:
		s.startBulk(w, r, req)
	}
}

// maxSelected bounds the tasks one action names: a page of them.
func (s *Server) maxSelected() int { return max(s.cfg.PageSize, tracker.DefaultPageLimit) }

// parseRequest reads and checks an action's form.
func parseRequest(form url.Values, maxTasks int) (request, error) {
	req := request{Job: form.Get("job"), Action: form.Get("action"), Scope: form.Get("scope"),
		Tasks: form["task"], Status: form.Get("status"), Fingerprint: form.Get("fingerprint"),
		Confirmed: form.Get("confirm") == "yes"}
	if req.Action == actRegister {
		return req, nil
	}
	if err := tracker.ValidateJob(req.Job); err != nil {
		return req, fmt.Errorf("not a job id: %w", err)
	}
	switch req.Action {
	case actRun:
		return req, nil
	case actRetry, actIgnore:
	default:
		return req, fmt.Errorf("unknown action %q: want retry, ignore, run or register", clip(show(req.Action), 40))
	}
	switch req.Scope {
	case scopeTasks:
		if len(req.Tasks) == 0 {
			return req, errors.New("no task selected: tick the tasks to " + req.Action + " first")
		}
		if len(req.Tasks) > maxTasks {
			return req, fmt.Errorf("%d tasks selected: an action names at most %d (act on the whole status or group instead)", len(req.Tasks), maxTasks)
		}
		req.Tasks = slices.Compact(slices.Sorted(slices.Values(req.Tasks)))
		return req, nil
	case scopeStatus:
		st, err := tracker.ParseStatus(req.Status)
		if err != nil {
			return req, fmt.Errorf("not a status: %q", clip(show(req.Status), 40))
		}
		req.sel = tracker.Selection{Statuses: []tracker.Status{st}}
	case scopeGroup:
		req.sel = tracker.Selection{Fingerprint: req.Fingerprint}
	default:
		return req, fmt.Errorf("unknown scope %q: want tasks, status or group", clip(show(req.Scope), 40))
	}
	if err := req.sel.Validate(tracker.BulkAction(req.Action)); err != nil {
		return req, fmt.Errorf("this selection cannot be %s: %w", pastTense[req.Action], err)
	}
	return req, nil
}

// describe says what a bulk selection holds: "failed and ignored tasks with fingerprint v1:…".
func describe(sel tracker.Selection, action tracker.BulkAction) string {
	statuses := sel.Statuses
	if len(statuses) == 0 {
		statuses = []tracker.Status{tracker.Failed, tracker.Ignored}
		if action == tracker.BulkIgnore {
			statuses = []tracker.Status{tracker.Failed}
		}
	}
	names := make([]string, len(statuses))
	for i, st := range statuses {
		names[i] = statusLabel(st)
	}
	what := strings.Join(names, " and ") + " tasks"
	if sel.Fingerprint != "" {
		what += " with fingerprint " + sel.Fingerprint
	}
	return what
}

// Confirm is the confirmation button's label: "Yes, retry 20 tasks".
func (d reviewData) Confirm() string {
	switch d.Action {
	case actRun:
		return "Yes, start the run"
	case actRegister:
		return "Yes, scan and register"
	}
	return "Yes, " + d.Action + " " + plural(d.Count, "task")
}

// review asks for confirmation of an action, saying what it would touch.
func (s *Server) review(w http.ResponseWriter, r *http.Request, req request) {
	d := reviewData{layoutData: s.layout("Confirm", crumb{"Jobs", "/"}), request: req, Count: -1, Back: jobURL(req.Job)}
	if req.Job != "" {
		d.Nav = append(d.Nav, crumb{"Job " + show(req.Job), jobURL(req.Job)})
	}
	verb := strings.ToUpper(req.Action[:1]) + req.Action[1:]
	switch {
	case req.Action == actRegister:
		d.Back = "/"
		d.Question = "Register the jobs that have tasks but no registry item?"
		d.Notes = []string{
			"Jobs whose tasks were written by other code (the seed's, say) are not in the registry, so the jobs page does not list them.",
			"This reads the key of every item in the table once (a Scan: on a big table, that costs read units and takes a while), and writes one registry item per job found. It is what trackerctl upgrade-table does; doing it again writes nothing.",
		}
	case req.Action == actRun:
		s.reviewRun(r.Context(), &d)
	case req.Scope == scopeTasks:
		d.Count = len(req.Tasks)
		d.Question = fmt.Sprintf("%s %s of job %s?", verb, plural(d.Count, "task"), show(req.Job))
		d.Notes = []string{"Each task is one conditional write: a task that cannot be " + pastTense[req.Action] + " now (it succeeded, or is running) is left as it is and said so."}
	default:
		if note := s.bulkNote(); note != "" {
			d.Nothing = note
			break
		}
		action := tracker.BulkAction(req.Action)
		n, err := s.tr.CountSelected(r.Context(), req.Job, action, req.sel)
		if err != nil {
			s.fail(w, r, http.StatusBadGateway, "The selection could not be counted: "+err.Error())
			return
		}
		d.Count = n
		what := describe(req.sel, action)
		if n == 0 {
			d.Nothing = fmt.Sprintf("Job %s has no %s: nothing to %s.", show(req.Job), what, req.Action)
			break
		}
		d.Question = fmt.Sprintf("%s %s (%s) of job %s?", verb, plural(n, "task"), what, show(req.Job))
		d.Notes = []string{
			fmt.Sprintf("Dry run: %s now, counted on the index; nothing was written.", plural(n, "task")),
			"The action pages through them on the server, one conditional write a task: a task that runs or moves on by then is counted as refused, never overwritten, and a task that fails again after the start is left alone.",
		}
	}
	s.render(w, r, http.StatusOK, "review", d)
}

// reviewRun fills the review of a run: what is pending, and whether a run holds the job.
func (s *Server) reviewRun(ctx context.Context, d *reviewData) {
	if note := s.runNote(); note != "" {
		d.Nothing = note
		return
	}
	j, err := s.tr.Job(ctx, d.Job)
	switch {
	case err == nil && j.Run.Live(s.cfg.Now()):
		d.Nothing = fmt.Sprintf("A run holds job %s until %s (%s): a new run would start nothing.", show(d.Job), stamp(j.Run.Expires), show(j.Run.Owner))
		return
	case err != nil && !errors.Is(err, tracker.ErrJobNotRegistered):
		d.Nothing = "The job could not be read: " + err.Error()
		return
	}
	d.Question = fmt.Sprintf("Start a run of job %s?", show(d.Job))
	if c := s.counts.get(ctx, d.Job, s.cfg.Wait); c.Has {
		d.Notes = append(d.Notes, fmt.Sprintf("As counted %s: %s pending (todo, in progress or failed).", ago(s.cfg.Now(), c.At), plural(pending(c.Val.Counts), "task")))
	}
	d.Notes = append(d.Notes, "The run claims every pending task as it comes due, as `trackerctl run` does.")
}

// changeTasks retries or ignores the tasks named, one conditional write each, and says what
// it did.
func (s *Server) changeTasks(w http.ResponseWriter, r *http.Request, req request) {
	change := s.tr.Retry
	if req.Action == actIgnore {
		change = s.tr.Ignore
	}
	refused := make([]string, len(req.Tasks))
	errs := make([]error, len(req.Tasks))
	var wg sync.WaitGroup
	sem := make(chan struct{}, tracker.BulkConcurrency)
	for i, id := range req.Tasks {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := change(r.Context(), req.Job, id)
			var ce *tracker.ConflictError
			switch {
			case errors.As(err, &ce):
				refused[i] = ce.Reason.Error()
			case errors.Is(err, tracker.ErrInvalidInput):
				refused[i] = err.Error()
			default:
				errs[i] = err
			}
		})
	}
	wg.Wait()
	s.invalidate(req.Job)
	if err := errors.Join(errs...); err != nil {
		s.fail(w, r, http.StatusBadGateway, "Some tasks could not be changed (the others were): "+err.Error())
		return
	}
	d := doneData{layoutData: s.layout("Done", crumb{"Jobs", "/"}, crumb{"Job " + show(req.Job), jobURL(req.Job)}), JobID: req.Job, Back: jobURL(req.Job)}
	for i, why := range refused {
		if why != "" {
			d.Refused = append(d.Refused, refusal{TaskID: req.Tasks[i], Reason: why})
		}
	}
	changed := len(req.Tasks) - len(d.Refused)
	past := strings.ToUpper(pastTense[req.Action][:1]) + pastTense[req.Action][1:]
	d.Headline = fmt.Sprintf("%s %d of %s of job %s.", past, changed, plural(len(req.Tasks), "task"), show(req.Job))
	if len(d.Refused) > 0 {
		d.Lines = append(d.Lines, fmt.Sprintf("%s left as %s:", plural(len(d.Refused), "task"), pronoun(len(d.Refused))))
	}
	s.render(w, r, http.StatusOK, "done", d)
}

// pronoun is what the tasks left as they were are called: "1 task left as it was".
func pronoun(n int) string {
	if n == 1 {
		return "it was"
	}
	return "they were"
}

// startBulk starts a bulk action on a status or a group, and sends the browser to its
// progress.
func (s *Server) startBulk(w http.ResponseWriter, r *http.Request, req request) {
	b, err := s.tr.NewBulk(req.Job, tracker.BulkOptions{Action: tracker.BulkAction(req.Action), Select: req.sel})
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case s.cfg.Runner != nil:
		if _, err := s.cfg.Runner.StartBulk(r.Context(), *b); err != nil {
			s.fail(w, r, http.StatusBadGateway, "The action could not be started: "+err.Error())
			return
		}
	case s.cfg.BulkHere:
		s.runHere(*b)
	default:
		s.fail(w, r, http.StatusConflict, s.bulkNote())
		return
	}
	s.invalidate(req.Job)
	to := bulkURL(req.Job, b.ID)
	if n, err := strconv.Atoi(r.PostForm.Get("of")); err == nil && n >= 0 {
		to += "&of=" + strconv.Itoa(n)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// localBulk is a bulk action run in this process: its end, once it ended.
type localBulk struct {
	done bool
	err  error
}

func bulkKey(job, id string) string { return job + "\x00" + id }

// runHere runs a bulk action in this process, to its end or the console's.
func (s *Server) runHere(b tracker.Bulk) {
	key := bulkKey(b.JobID, b.ID)
	s.mu.Lock()
	s.bulkState[key] = &localBulk{}
	s.mu.Unlock()
	s.wg.Go(func() {
		_, err := s.tr.RunBulk(s.base, b, 0, func(tracker.Bulk) { s.invalidate(b.JobID) })
		if err != nil {
			s.cfg.Logger.Error("console: bulk action failed", "job", b.JobID, "id", b.ID, "error", err)
		}
		s.invalidate(b.JobID)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.bulkState[key] = &localBulk{done: true, err: err}
	})
}

// invalidate has the job's counts and failures read again at the next look.
func (s *Server) invalidate(job string) {
	s.counts.invalidate(job)
	s.failures.invalidate(job)
}

// startRun starts a run of the job and says what runs it.
func (s *Server) startRun(w http.ResponseWriter, r *http.Request, req request) {
	if s.cfg.Runner == nil {
		s.fail(w, r, http.StatusConflict, s.runNote())
		return
	}
	what, err := s.cfg.Runner.StartRun(r.Context(), req.Job)
	var live *tracker.RunLiveError
	switch {
	case errors.As(err, &live):
		s.fail(w, r, http.StatusConflict, fmt.Sprintf("A run holds job %s until %s (%s): nothing was started.", show(req.Job), stamp(live.Holder.Expires), show(live.Holder.Owner)))
		return
	case err != nil:
		s.fail(w, r, http.StatusBadGateway, "The run could not be started: "+err.Error())
		return
	}
	s.invalidate(req.Job)
	d := doneData{layoutData: s.layout("Run started", crumb{"Jobs", "/"}, crumb{"Job " + show(req.Job), jobURL(req.Job)}),
		JobID: req.Job, Back: jobURL(req.Job), Headline: fmt.Sprintf("Started a run of job %s.", show(req.Job)),
		Lines: []string{"It runs as " + show(what) + "."}}
	s.render(w, r, http.StatusOK, "done", d)
}

// register registers the jobs that have tasks and no registry item (tracker.MigrateRegistry).
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	m, err := s.tr.MigrateRegistry(r.Context())
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, "The registry could not be brought up to date: "+err.Error())
		return
	}
	d := doneData{layoutData: s.layout("Registry", crumb{"Jobs", "/"}), Back: "/",
		Headline: fmt.Sprintf("Registered %s that had tasks and no registry item.", plural(len(m.Registered), "job"))}
	d.Lines = append(d.Lines, fmt.Sprintf("Read the keys of %s in %s; %s have tasks.", plural(m.Scanned, "item"), plural(m.Pages, "page"), plural(m.Jobs, "job")))
	if len(m.Registered) > 0 {
		d.Lines = append(d.Lines, "Registered: "+show(strings.Join(m.Registered, ", "))+".")
	}
	if len(m.Moved)+len(m.Dropped) > 0 {
		d.Lines = append(d.Lines, fmt.Sprintf("Moved %s from the legacy registry key, dropped %s.", plural(len(m.Moved), "item"), plural(len(m.Dropped), "duplicate")))
	}
	for _, sk := range m.Skipped {
		d.Refused = append(d.Refused, refusal{TaskID: sk.Key, Reason: sk.Reason})
	}
	s.render(w, r, http.StatusOK, "done", d)
}

// bulkData is the progress page of a bulk action.
type bulkData struct {
	layoutData
	JobID, ID string
	// Bulk is the action's recorded progress; nil before its first step is recorded.
	Bulk *tracker.Bulk
	// Of is how many tasks the selection held when the action was reviewed; -1 unknown.
	Of int
	// Err is why the action stopped, when it ran in this process and failed.
	Err  string
	What string
}

// Share is how far the action came, as a share of the tasks selected at its review.
func (d bulkData) Share() float64 {
	if d.Bulk == nil || d.Of <= 0 {
		return 0
	}
	if d.Bulk.Done {
		return 1
	}
	return min(share(d.Bulk.Listed, d.Of), 1)
}

// reasonCount is how many tasks an action refused for one reason.
type reasonCount struct {
	Reason string
	N      int
}

// Reasons are the action's refusals by reason, in a stable order.
func (d bulkData) Reasons() []reasonCount {
	if d.Bulk == nil {
		return nil
	}
	var out []reasonCount
	for _, k := range slices.Sorted(maps.Keys(d.Bulk.RefusedBy)) {
		out = append(out, reasonCount{Reason: k, N: d.Bulk.RefusedBy[k]})
	}
	return out
}

// bulkPage follows a bulk action: its recorded progress (one GetItem), refreshed until it is
// done.
func (s *Server) bulkPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := bulkData{JobID: q.Get("job"), ID: q.Get("id"), Of: atoi(q.Get("of"), -1)}
	if err := tracker.ValidateJob(d.JobID); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Not a job id: "+err.Error())
		return
	}
	d.layoutData = s.layout("Bulk action "+show(d.ID), crumb{"Jobs", "/"}, crumb{"Job " + show(d.JobID), jobURL(d.JobID)})
	b, err := s.tr.BulkStatus(r.Context(), d.JobID, d.ID)
	switch {
	case err == nil:
		d.Bulk = b
		d.What = describe(b.Select, b.Action)
	case !errors.Is(err, tracker.ErrBulkNotFound) && !errors.Is(err, tracker.ErrInvalidInput):
		s.fail(w, r, http.StatusBadGateway, "The action's progress could not be read: "+err.Error())
		return
	}
	s.mu.Lock()
	local := s.bulkState[bulkKey(d.JobID, d.ID)]
	s.mu.Unlock()
	switch {
	case local != nil && local.err != nil:
		d.Err = local.err.Error()
	case d.Bulk == nil && local == nil && errors.Is(err, tracker.ErrInvalidInput):
		s.fail(w, r, http.StatusNotFound, "Job "+show(d.JobID)+" has no bulk action "+show(d.ID)+".")
		return
	}
	s.render(w, r, http.StatusOK, "bulk", d)
}
