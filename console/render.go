package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/humanize"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

//go:embed templates/*.html
var templateFS embed.FS

// staticFS holds the stylesheet and htmx (static/README.md says where each comes from).
//
//go:embed static
var staticFS embed.FS

// pageNames are the pages; each is templates/<name>.html with the layout around it.
var pageNames = []string{"jobs", "job", "tasks", "task", "review", "done", "bulk", "error"}

// parsePages parses each page with the layout and the shared parts.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// funcs are the templates' helpers: the escapes that make text visible, formats, and the
// pages' addresses (built with url.Values: any id, however hostile, is one query value).
var funcs = template.FuncMap{
	"show":        show,
	"showText":    showText,
	"clip":        clip,
	"firstLine":   firstLine,
	"num":         num,
	"percent":     percent,
	"human":       humanize.Duration,
	"stamp":       stamp,
	"ago":         ago,
	"size":        size,
	"plural":      plural,
	"label":       statusLabel,
	"static":      staticURL,
	"jobURL":      jobURL,
	"tasksURL":    tasksURL,
	"taskURL":     taskURL,
	"taskJSONURL": taskJSONURL,
	"statusURL":   statusURL,
	"groupURL":    groupURL,
	"bulkURL":     bulkURL,
	"statuses":    tracker.Statuses,
	"maxHistory":  func() int { return tracker.MaxHistory },
	"inc":         func(n int) int { return n + 1 },
	"dec":         func(n int) int { return n - 1 },
	"act": func(csrf, job, action, scope, status, fp, label string) actForm {
		return actForm{CSRF: csrf, Job: job, Action: action, Scope: scope, Status: status, Fingerprint: fp, Label: label}
	},
}

// The pages' addresses. Ids go in the query, each one value: any id, however hostile (a
// slash, "..", a question mark, a bidi override), reaches the handler as it is.
func jobURL(job string) string { return "/job?" + url.Values{"job": {job}}.Encode() }

func tasksURL(job string) string { return "/tasks?" + url.Values{"job": {job}}.Encode() }

func taskURL(job, task string) string {
	return "/task?" + url.Values{"job": {job}, "task": {task}}.Encode()
}

func taskJSONURL(job, task string) string {
	return "/task.json?" + url.Values{"job": {job}, "task": {task}}.Encode()
}

func statusURL(job string, s tracker.Status) string {
	return "/tasks?" + url.Values{"job": {job}, "status": {s.String()}}.Encode()
}

func groupURL(job, fp string) string {
	return "/tasks?" + url.Values{"job": {job}, "fingerprint": {fp}}.Encode()
}

func bulkURL(job, id string) string {
	return "/bulk?" + url.Values{"job": {job}, "id": {id}}.Encode()
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// actForm is a button that asks for the review of an action (template "act").
type actForm struct {
	CSRF, Job, Action, Scope, Status, Fingerprint, Label string
}

// layoutData is what the layout needs of every page.
type layoutData struct {
	Title       string
	Where       string
	AllowWrites bool
	CSRF        string
	Refresh     int // seconds between refreshes of the parts that refresh
	Now         time.Time
	Nav         []crumb
}

// crumb is one step of the path to a page.
type crumb struct {
	Label, URL string
}

func (s *Server) layout(title string, nav ...crumb) layoutData {
	return layoutData{Title: title, Where: s.cfg.Where, AllowWrites: s.cfg.AllowWrites, CSRF: s.csrf,
		Refresh: int(s.cfg.Refresh / time.Second), Now: s.cfg.Now(), Nav: nav}
}

// render executes page with data into a buffer first, so that a failure sends an error page,
// not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.cfg.Logger.Error("console: render", "page", page, "error", err)
		http.Error(w, "the page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// errorData is the error page's.
type errorData struct {
	layoutData
	Status  int
	Message string
}

// fail sends the error page with status and message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	s.render(w, r, status, "error", errorData{layoutData: s.layout(http.StatusText(status)), Status: status, Message: message})
}

// staticVersions are the content hashes of the static files, which their addresses carry so
// that a browser may keep them for good.
var staticVersions = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
})

// staticURL is the address of a static file, with its version.
func staticURL(name string) string {
	return "/static/" + name + "?v=" + staticVersions()[name]
}

// staticHandler serves the embedded static files (not their README), for good when asked by
// version.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if _, ok := staticVersions()[name]; !ok || path.Ext(name) == ".md" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}
