package console

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// jobRow is one job of the jobs page.
type jobRow struct {
	tracker.Job
	Live   bool
	Counts countsView
}

// jobsData is the jobs page's.
type jobsData struct {
	layoutData
	Rows []jobRow
	// Query is the search; Sort and Desc the order.
	Query string
	Sort  string
	Desc  bool
	// Page is the page shown (from 1) of Pages; Matched the jobs the search matched, of Total.
	Page, Pages    int
	Matched, Total int
	Live           int // jobs with a live run, among those matched
	Counted        int // rows shown whose counts are known
	Bad            []tracker.RegistryError
	Columns        []sortColumn
}

// sortColumn is a column of the jobs table: its header, and the address that sorts by it.
type sortColumn struct {
	Key, Label string
	// Sorted is "ascending" or "descending" when the table is sorted by it (aria-sort).
	Sorted string
	URL    string
}

// jobSort is an order of the jobs page: the key, its header, whether it sorts by counts
// (which then must be read for every job matched), and the comparison, ascending.
type jobSort struct {
	key, label string
	counts     bool
	less       func(a, b jobRow) int
}

// jobSorts are the orders of the jobs page.
var jobSorts = []jobSort{
	{"job", "Job", false, func(a, b jobRow) int { return strings.Compare(a.JobID, b.JobID) }},
	{"tasks", "Tasks", true, func(a, b jobRow) int { return cmp.Compare(a.Counts.Total, b.Counts.Total) }},
	{"done", "Done", true, func(a, b jobRow) int { return cmp.Compare(a.Counts.DoneShare(), b.Counts.DoneShare()) }},
	{"failed", "Failed", true, func(a, b jobRow) int { return cmp.Compare(a.Counts.Count("failed"), b.Counts.Count("failed")) }},
	{"ignored", "Ignored", true, func(a, b jobRow) int { return cmp.Compare(a.Counts.Count("ignored"), b.Counts.Count("ignored")) }},
	{"rate", "Pace", true, func(a, b jobRow) int { return cmp.Compare(a.Counts.Rate.PerSecond, b.Counts.Rate.PerSecond) }},
	{"lastrun", "Last run", false, func(a, b jobRow) int { return a.LastRun.Compare(b.LastRun) }},
	{"created", "Created", false, func(a, b jobRow) int { return a.Created.Compare(b.Created) }},
}

// jobsPage lists the registry's jobs, searched, sorted and paged, with their counts as last
// read. It reads the registry (one Query) and starts the counts of the jobs it shows.
func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := jobsData{layoutData: s.layout("Jobs"), Query: q.Get("q"), Sort: q.Get("sort"), Desc: q.Get("dir") == "desc"}
	sortIdx := slices.IndexFunc(jobSorts, func(o jobSort) bool { return o.key == d.Sort })
	if sortIdx < 0 {
		sortIdx, d.Sort = 0, "job"
	}
	order := jobSorts[sortIdx]
	reg, err := s.tr.Jobs(r.Context())
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, "The job registry could not be read: "+err.Error())
		return
	}
	d.Bad, d.Total = reg.Bad, len(reg.Jobs)
	now := s.cfg.Now()
	var rows []jobRow
	needle := strings.ToLower(d.Query)
	for _, j := range reg.Jobs {
		if needle != "" && !strings.Contains(strings.ToLower(j.JobID), needle) {
			continue
		}
		row := jobRow{Job: j, Live: j.Run.Live(now)}
		if row.Live {
			d.Live++
		}
		rows = append(rows, row)
	}
	d.Matched = len(rows)
	d.Pages = max(1, (len(rows)+s.cfg.PageSize-1)/s.cfg.PageSize)
	d.Page = min(max(atoi(q.Get("page"), 1), 1), d.Pages)
	// Counts are read for the jobs shown, or for every job matched when they are the order.
	counted := rows
	if !order.counts {
		counted = pageOf(rows, d.Page, s.cfg.PageSize)
	}
	s.fillCounts(r, counted)
	if order.counts {
		// Jobs not counted yet sort last, whichever the direction.
		slices.SortStableFunc(rows, func(a, b jobRow) int {
			if a.Counts.Known != b.Counts.Known {
				return boolFirst(a.Counts.Known, b.Counts.Known)
			}
			return desc(order.less(a, b), d.Desc)
		})
	} else if d.Sort != "job" || d.Desc {
		slices.SortStableFunc(rows, func(a, b jobRow) int { return desc(order.less(a, b), d.Desc) })
	}
	d.Rows = pageOf(rows, d.Page, s.cfg.PageSize)
	for _, row := range d.Rows {
		if row.Counts.Known {
			d.Counted++
		}
	}
	d.Columns = sortColumns(d)
	s.render(w, r, http.StatusOK, "jobs", d)
}

// fillCounts sets the counts of rows from the cache, starting the reads that are due and
// waiting up to Config.Wait for them.
func (s *Server) fillCounts(r *http.Request, rows []jobRow) {
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row.JobID
	}
	got := s.counts.getAll(r.Context(), ids, s.cfg.Wait)
	for i := range rows {
		rows[i].Counts = newCountsView(rows[i].JobID, got[rows[i].JobID], s.history.get(rows[i].JobID), s.cfg.Now())
	}
}

func sortColumns(d jobsData) []sortColumn {
	var out []sortColumn
	for _, o := range jobSorts {
		c := sortColumn{Key: o.key, Label: o.label}
		dir := "asc"
		if o.key == d.Sort {
			c.Sorted = "ascending"
			if d.Desc {
				c.Sorted = "descending"
			} else {
				dir = "desc"
			}
		} else if o.key != "job" {
			dir = "desc" // counts and times read best largest, latest first
		}
		v := []string{"sort=" + o.key, "dir=" + dir}
		if d.Query != "" {
			v = append(v, "q="+urlQueryEscape(d.Query))
		}
		c.URL = "/?" + strings.Join(v, "&")
		out = append(out, c)
	}
	return out
}

// PageURL is the address of page p of the jobs with the same search and order.
func (d jobsData) PageURL(p int) string {
	v := []string{"page=" + strconv.Itoa(p), "sort=" + d.Sort}
	if d.Desc {
		v = append(v, "dir=desc")
	}
	if d.Query != "" {
		v = append(v, "q="+urlQueryEscape(d.Query))
	}
	return "/?" + strings.Join(v, "&")
}

// SelfURL is the address of this page as shown: what its refresh asks for.
func (d jobsData) SelfURL() string { return d.PageURL(d.Page) }

func pageOf[T any](list []T, page, size int) []T {
	from := min((page-1)*size, len(list))
	return list[from:min(from+size, len(list))]
}

func desc(c int, d bool) int {
	if d {
		return -c
	}
	return c
}

func boolFirst(a, b bool) int {
	if a && !b {
		return -1
	}
	if b && !a {
		return 1
	}
	return 0
}

func atoi(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// jobData is the job page's.
type jobData struct {
	layoutData
	JobID string
	// Job is the registry's item; nil when the job is not registered (Registered false).
	Job        *tracker.Job
	Registered bool
	Live       bool
	Counts     countsView
	Chart      chartView
	// Groups are the job's error groups (largest first), known when FailuresKnown.
	Groups          []groupView
	FailuresKnown   bool
	FailuresReading bool
	FailuresAt      string
	FailuresErr     string
	GroupsErr       string
	Bulks           []tracker.Bulk
	// RunNote says why a run cannot be started here, when it cannot.
	RunNote string
	// BulkNote says why a bulk action cannot run here, when it cannot.
	BulkNote string
}

// groupView is an error group as the job page shows it: its sample's error.
type groupView struct {
	tracker.Group
	Error string // the sample's error message, its first line
}

// maxBulksShown is how many of a job's bulk actions its page lists, the latest first.
const maxBulksShown = 5

// jobPage shows one job: its registry item, its counts, its status mix over time, its error
// groups and its latest bulk actions.
func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	job := r.URL.Query().Get("job")
	if err := tracker.ValidateJob(job); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Not a job id: "+err.Error())
		return
	}
	d := jobData{layoutData: s.layout("Job "+show(job), crumb{"Jobs", "/"}), JobID: job,
		RunNote: s.runNote(), BulkNote: s.bulkNote()}
	j, err := s.tr.Job(r.Context(), job)
	switch {
	case err == nil:
		d.Job, d.Registered, d.Live = j, true, j.Run.Live(s.cfg.Now())
	case !errors.Is(err, tracker.ErrJobNotRegistered):
		s.fail(w, r, http.StatusBadGateway, "The job could not be read: "+err.Error())
		return
	}
	// The counts and the failures are read at once; each waits at most Config.Wait.
	done := make(chan result[*failures], 1)
	go func() { done <- s.failures.get(r.Context(), job, s.cfg.Wait) }()
	counts := s.counts.get(r.Context(), job, s.cfg.Wait)
	f := <-done
	samples := s.history.get(job)
	d.Counts = newCountsView(job, counts, samples, s.cfg.Now())
	d.Chart = newChart(samples)
	if !d.Registered && d.Counts.Known && d.Counts.Total == 0 {
		s.fail(w, r, http.StatusNotFound, "Job "+show(job)+" is not registered and has no task.")
		return
	}
	d.FailuresKnown, d.FailuresReading = f.Has, f.Reading
	if f.Err != nil {
		d.FailuresErr = f.Err.Error()
	}
	if f.Has {
		d.FailuresAt = ago(s.cfg.Now(), f.At)
		if f.Val.GroupsErr != nil {
			d.GroupsErr = f.Val.GroupsErr.Error()
		}
		for _, g := range f.Val.Groups {
			gv := groupView{Group: g}
			if g.Sample != nil && g.Sample.Error != nil {
				gv.Error = firstLine(g.Sample.Error.Error)
			}
			d.Groups = append(d.Groups, gv)
		}
		d.Bulks = f.Val.Bulks[:min(len(f.Val.Bulks), maxBulksShown)]
	}
	s.render(w, r, http.StatusOK, "job", d)
}

// runNote says why a run cannot be started from this console, or "".
func (s *Server) runNote() string {
	if s.cfg.Runner == nil {
		return "No state machine is configured: start the console with --state-machine-arn (or TRACKER_STATE_MACHINE_ARN) to start runs on AWS."
	}
	return ""
}

// bulkNote says why a bulk action cannot run from this console, or "".
func (s *Server) bulkNote() string {
	if s.cfg.Runner == nil && !s.cfg.BulkHere {
		return "A bulk action runs as an execution of the state machine: start the console with --state-machine-arn (or TRACKER_STATE_MACHINE_ARN)."
	}
	return ""
}

// tasksData is the tasks page's.
type tasksData struct {
	layoutData
	JobID string
	// Status is the status listed ("" for every status), Fingerprint the group listed.
	Status      string
	Fingerprint string
	Tasks       []tracker.Task
	// Cursor is where this page started ("" for the first); Next resumes after it.
	Cursor, Next string
	Limit        int
	// Count is how many tasks the status or the group holds, as last counted (-1: unknown).
	Count    int
	BulkNote string
}

// What says what the page lists.
func (d tasksData) What() string {
	switch {
	case d.Fingerprint != "":
		return "Tasks failing as " + show(d.Fingerprint)
	case d.Status != "":
		st, _ := tracker.ParseStatus(d.Status)
		return statusLabel(st) + " tasks"
	}
	return "All tasks"
}

// NextURL is the address of the next page.
func (d tasksData) NextURL() string { return d.url(d.Next) }

// FirstURL is the address of the first page.
func (d tasksData) FirstURL() string { return d.url("") }

func (d tasksData) url(cursor string) string {
	v := []string{"job=" + urlQueryEscape(d.JobID)}
	if d.Status != "" {
		v = append(v, "status="+urlQueryEscape(d.Status))
	}
	if d.Fingerprint != "" {
		v = append(v, "fingerprint="+urlQueryEscape(d.Fingerprint))
	}
	if cursor != "" {
		v = append(v, "cursor="+urlQueryEscape(cursor))
	}
	return "/tasks?" + strings.Join(v, "&")
}

// tasksPage shows one page of a job's tasks: of a status, of an error group, or of every
// status. It reads one page of tracker.List.
func (s *Server) tasksPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := tasksData{JobID: q.Get("job"), Status: q.Get("status"), Fingerprint: q.Get("fingerprint"),
		Cursor: q.Get("cursor"), Limit: s.cfg.PageSize, Count: -1, BulkNote: s.bulkNote()}
	if err := tracker.ValidateJob(d.JobID); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Not a job id: "+err.Error())
		return
	}
	opts := tracker.ListOptions{Limit: d.Limit, Cursor: d.Cursor, Fingerprint: d.Fingerprint}
	if d.Status != "" {
		st, err := tracker.ParseStatus(d.Status)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "Not a status: "+show(d.Status))
			return
		}
		d.Status = st.String()
		opts.Statuses = []tracker.Status{st}
	}
	d.layoutData = s.layout(d.What(), crumb{"Jobs", "/"}, crumb{"Job " + show(d.JobID), jobURL(d.JobID)})
	page, err := s.tr.List(r.Context(), d.JobID, opts)
	var ve *tracker.ValidationError
	switch {
	case errors.As(err, &ve):
		s.fail(w, r, http.StatusBadRequest, "This listing cannot be made: "+err.Error())
		return
	case err != nil:
		s.fail(w, r, http.StatusBadGateway, "The tasks could not be listed: "+err.Error())
		return
	}
	d.Tasks, d.Next = page.Tasks, page.Cursor
	d.Count = s.knownCount(d.JobID, d.Status, d.Fingerprint)
	s.render(w, r, http.StatusOK, "tasks", d)
}

// knownCount is how many tasks the listing holds as last counted, without reading anything:
// a status's count, or a group's size; -1 when unknown.
func (s *Server) knownCount(job, status, fp string) int {
	switch {
	case fp != "":
		f := s.failures.peek(job)
		if !f.Has {
			return -1
		}
		for _, g := range f.Val.Groups {
			if g.Fingerprint == fp {
				switch status {
				case "failed":
					return g.Failed
				case "ignored":
					return g.Ignored
				}
				return g.Tasks
			}
		}
		return 0
	case status != "":
		c := s.counts.peek(job)
		if !c.Has {
			return -1
		}
		st, _ := tracker.ParseStatus(status)
		return c.Val.Counts[st]
	}
	c := s.counts.peek(job)
	if !c.Has {
		return -1
	}
	return c.Val.Total
}

// taskData is the task page's.
type taskData struct {
	layoutData
	Task *tracker.Task
	// Data is the task's data as indented JSON, of DataBytes bytes as stored.
	Data      string
	DataBytes int
	// Current is the task's current error (failed or ignored), nil otherwise; Past its last
	// error when it is history (a task that failed and then succeeded, or was retried).
	Current, Past *tracker.TaskError
	// Lease is the lease duration; LeaseExpires when the task's lease runs out (zero when it
	// holds none), Locked whether it is live now.
	LeaseExpires time.Time
	Locked       bool
	// History is the task's failed attempts, the latest first.
	History   []tracker.Attempt
	CanRetry  bool
	CanIgnore bool
}

// taskPage shows one task whole: data, current error and traceback, history, lease and
// times. It reads the task (one consistent GetItem).
func (s *Server) taskPage(w http.ResponseWriter, r *http.Request) {
	job, id := r.URL.Query().Get("job"), r.URL.Query().Get("task")
	task, ok := s.getTask(w, r, job, id)
	if !ok {
		return
	}
	d := taskData{layoutData: s.layout("Task "+show(id), crumb{"Jobs", "/"}, crumb{"Job " + show(job), jobURL(job)}),
		Task: task, DataBytes: len(task.Data)}
	if len(task.Data) > 0 {
		var buf bytes.Buffer
		if err := json.Indent(&buf, task.Data, "", "  "); err != nil {
			d.Data = string(task.Data)
		} else {
			d.Data = buf.String()
		}
	}
	d.Current = task.CurrentError()
	if d.Current == nil {
		d.Past = task.Error
	}
	lease := s.tr.Config().LeaseDuration
	d.LeaseExpires = task.LeaseExpires(lease)
	d.Locked = task.Locked(s.cfg.Now(), lease)
	d.History = slices.Clone(task.History)
	slices.Reverse(d.History)
	d.CanRetry = task.Status == tracker.Failed || task.Status == tracker.Ignored
	d.CanIgnore = task.Status != tracker.Succeeded && task.Status != tracker.Ignored
	s.render(w, r, http.StatusOK, "task", d)
}

// getTask reads a task for a page, or sends the error page and returns false.
func (s *Server) getTask(w http.ResponseWriter, r *http.Request, job, id string) (*tracker.Task, bool) {
	if err := tracker.ValidateJob(job); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Not a job id: "+err.Error())
		return nil, false
	}
	task, err := s.tr.Get(r.Context(), job, id)
	switch {
	case errors.Is(err, tracker.ErrTaskNotFound):
		s.fail(w, r, http.StatusNotFound, "Job "+show(job)+" has no task "+show(id)+".")
		return nil, false
	case errors.Is(err, tracker.ErrInvalidInput):
		s.fail(w, r, http.StatusBadRequest, "Not a task id: "+err.Error())
		return nil, false
	case err != nil:
		s.fail(w, r, http.StatusBadGateway, "The task could not be read: "+err.Error())
		return nil, false
	}
	return task, true
}

// taskJSON sends the task whole as JSON, as a download.
func (s *Server) taskJSON(w http.ResponseWriter, r *http.Request) {
	task, ok := s.getTask(w, r, r.URL.Query().Get("job"), r.URL.Query().Get("task"))
	if !ok {
		return
	}
	body, err := json.MarshalIndent(task, "", "  ")
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="task.json"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}
