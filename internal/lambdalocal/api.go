package lambdalocal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxPayload is Lambda's limit on a synchronous invocation's request payload.
const maxPayload = 6 << 20

// routes serves the one operation a local run calls: Invoke.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.handleInvoke)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// handleInvoke is Lambda's Invoke, RequestResponse: it answers with the function's payload,
// and X-Amz-Function-Error: Unhandled when that payload is an error. The payload is the
// function's own ({"errorType", "errorMessage", ...} as its runtime wrote it), so the error's
// name is the function's errorType, unchanged, as on Lambda.
func (s *Server) handleInvoke(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	w.Header().Set("X-Amzn-RequestId", requestID)
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if t := r.Header.Get("X-Amz-Invocation-Type"); t != "" && t != "RequestResponse" {
		writeError(w, http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("Unsupported invocation type %q: the local Lambda API serves RequestResponse only", t))
		return
	}
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxPayload))
		return
	} else if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not read the request body: "+err.Error())
		return
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}") // what Lambda hands a function invoked without a payload
	}
	if !json.Valid(payload) {
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	clientContext := r.Header.Get("X-Amz-Client-Context")
	if _, err := base64.StdEncoding.DecodeString(clientContext); err != nil {
		// The RIE would answer 500 and be left in doubt; Lambda refuses the request.
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object.")
		return
	}
	o, err := p.invoke(r.Context(), invocation{
		requestID:     requestID,
		payload:       payload,
		clientContext: clientContext,
		traceID:       r.Header.Get("X-Amzn-Trace-Id"),
	})
	if err == nil {
		err = o.err
	}
	switch {
	case errors.Is(err, errClosed) || s.ctx.Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "ServiceException", "The local Lambda server is closing")
		return
	case r.Context().Err() != nil:
		panic(http.ErrAbortHandler) // the caller is gone; returning would answer 200
	case err != nil:
		writeError(w, http.StatusInternalServerError, "ServiceException", err.Error())
		return
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.Header().Set("Content-Type", "application/json")
	if o.functionError {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(o.payload)
}

// lookup finds the pool of the function the request names, by name or by ARN
// (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME; the region and account are not
// checked), or answers 404 as Lambda does.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*pool, bool) {
	ref := r.PathValue("name")
	name, arn := ref, s.arn(ref)
	if strings.HasPrefix(ref, "arn:") {
		name, arn = ref[strings.LastIndexByte(ref, ':')+1:], ref
		if parts := strings.Split(ref, ":"); len(parts) != 7 || parts[2] != "lambda" || parts[5] != "function" {
			name = ""
		}
	}
	if p, ok := s.pools[name]; ok {
		return p, true
	}
	writeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn)
	return nil, false
}

// writeError answers as Lambda does for an error of its own: the error name in
// X-Amzn-ErrorType, which the AWS SDKs turn into the typed exception, and a JSON body.
func writeError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", errorType)
	w.WriteHeader(status)
	kind := "User"
	if status >= 500 {
		kind = "Service"
	}
	json.NewEncoder(w).Encode(struct {
		Type    string
		Message string `json:"message"`
	}{kind, message})
}

// newRequestID returns a random (version 4) UUID, as Lambda's request ids are.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
