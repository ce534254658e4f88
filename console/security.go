package console

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// contentSecurityPolicy allows this server's own scripts, styles and requests only: no inline
// script or style, no eval, no frame, no form posted elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxFormBytes bounds a POST's body: an action names at most a page of task ids.
const maxFormBytes = 1 << 20

// allowedHosts are the Host headers a server listening on addr answers: its address, and
// for a loopback address the loopback names with its port. nil means any (a server listening
// on every interface cannot know the names it is reached by).
func allowedHosts(addr net.Addr) map[string]bool {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		return nil
	}
	port := strconv.Itoa(tcp.Port)
	hosts := map[string]bool{net.JoinHostPort(tcp.IP.String(), port): true}
	if tcp.IP.IsLoopback() {
		for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
			hosts[net.JoinHostPort(h, port)] = true
		}
	}
	if port == "80" {
		for h := range hosts {
			host, _, _ := net.SplitHostPort(h)
			hosts[host] = true
		}
	}
	return hosts
}

// guard answers only requests addressed to an allowed host (a page of another site that
// rebinds its name to this address gets 421), and sends every answer with the headers that
// keep a page from being framed, sniffed or leaking its address.
func (s *Server) guard(hosts map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if hosts != nil && !hosts[strings.ToLower(r.Host)] {
			s.fail(w, r, http.StatusMisdirectedRequest, "This console answers only at the address it listens on, not at "+r.Host+".")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// protect lets a write through only when writes are allowed, the browser does not say it
// comes from another site (Sec-Fetch-Site, or an Origin other than the Host), and the form
// carries the server's CSRF token.
func (s *Server) protect(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.AllowWrites {
			s.fail(w, r, http.StatusForbidden, "This console is read-only: start it with --allow-writes to retry, ignore or run tasks.")
			return
		}
		if err := cop.Check(r); err != nil {
			s.fail(w, r, http.StatusForbidden, "Refused: the request comes from another site ("+err.Error()+").")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, http.StatusBadRequest, "Refused: the form cannot be read ("+err.Error()+").")
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
			s.fail(w, r, http.StatusForbidden, "Refused: the form does not carry this console's token. Reload the page and try again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}
