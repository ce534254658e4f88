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
	"runtime"
	"strings"
	"time"
)

// maxPayload is Lambda's limit on a synchronous invocation's request payload.
const maxPayload = 6 << 20

// routes serves the subset of the Lambda API a local run needs: Invoke and GetFunction.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.handleInvoke)
	mux.HandleFunc("GET /2015-03-31/functions/{name}", s.handleGetFunction)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// handleInvoke is Lambda's Invoke: RequestResponse answers with the function's payload (and
// X-Amz-Function-Error when it is an error), Event answers 202 once the invocation is queued,
// DryRun answers 204. Every qualifier runs the one version there is, $LATEST.
func (s *Server) handleInvoke(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	w.Header().Set("X-Amzn-RequestId", requestID)
	p, ok := s.lookup(w, r)
	if !ok {
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
	inv := invocation{
		requestID:     requestID,
		payload:       payload,
		clientContext: clientContext,
		traceID:       r.Header.Get("X-Amzn-Trace-Id"),
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	switch t := r.Header.Get("X-Amz-Invocation-Type"); t {
	case "", "RequestResponse":
		o, err := p.invoke(r.Context(), inv)
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
		w.Header().Set("Content-Type", "application/json")
		if o.functionError {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		w.WriteHeader(http.StatusOK)
		w.Write(o.payload)
	case "Event":
		if !p.dispatch(inv) {
			writeError(w, http.StatusServiceUnavailable, "ServiceException", "The local Lambda server is closing")
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("Unsupported invocation type %q: use RequestResponse, Event or DryRun", t))
	}
}

// handleGetFunction is Lambda's GetFunction, enough for tools that check a function exists.
func (s *Server) handleGetFunction(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	p, ok := s.lookup(w, r)
	if !ok {
		return
	}
	arch := runtime.GOARCH
	if arch == "amd64" {
		arch = "x86_64"
	}
	type environment struct {
		Variables map[string]string
	}
	type configuration struct {
		FunctionName, FunctionArn, Runtime, Handler, Version string
		Timeout, MemorySize                                  int
		State, LastUpdateStatus, PackageType                 string
		Architectures                                        []string
		Environment                                          environment
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Configuration configuration
		Code          struct{ RepositoryType, Location string }
	}{
		Configuration: configuration{
			FunctionName: p.fn.Name, FunctionArn: s.arn(p.fn.Name), Runtime: "provided.al2023",
			Handler: "bootstrap", Version: "$LATEST",
			Timeout: int(p.fn.Timeout / time.Second), MemorySize: p.fn.MemoryMB,
			State: "Active", LastUpdateStatus: "Successful", PackageType: "Zip",
			Architectures: []string{arch}, Environment: environment{p.fn.Env},
		},
		Code: struct{ RepositoryType, Location string }{"S3", "file://" + p.fn.Bootstrap},
	})
}

// lookup finds the pool of the function the request names, or answers 404 as Lambda does.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*pool, bool) {
	ref := r.PathValue("name")
	name, qualifier := parseFunctionRef(ref)
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	if p, ok := s.pools[name]; ok {
		return p, true
	}
	arn := ref
	if !strings.HasPrefix(ref, "arn:") {
		arn = s.arn(name)
		if qualifier != "" {
			arn += ":" + qualifier
		}
	}
	writeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn)
	return nil, false
}

// parseFunctionRef splits what Lambda accepts as a function name: a name, a partial ARN
// (ACCOUNT:function:NAME) or a full ARN (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME),
// each optionally followed by :QUALIFIER. The region and account are not checked.
func parseFunctionRef(ref string) (name, qualifier string) {
	parts := strings.Split(ref, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function":
		parts = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		parts = parts[2:]
	}
	switch len(parts) {
	case 1:
		return parts[0], ""
	case 2:
		return parts[0], parts[1]
	default:
		return ref, "" // no such function
	}
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
