package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
)

// Version is the version of the algorithm Compute applies. Any change to what a fingerprint
// is computed from (the parts, the normalisation, the frames kept, the encoding, the hash)
// is a new algorithm and bumps Version. A new version applies to new failures only: a
// fingerprint stored with an older version keeps it, and two fingerprints of different
// versions are never equal, as Sentry does with its grouping configurations (a new one
// applies to new events, existing groups keep theirs).
const Version = 1

// HashLen is the number of hexadecimal digits of a fingerprint's hash: 48 bits. Short enough
// to read out and type, as a short git commit id is; long enough that distinct groups do not
// collide: among n groups the chance that any two share a hash is about n²/2⁴⁹, one in 5
// million for a job with 10,000 distinct groups, one in 560 for a million.
const HashLen = 12

// Fingerprint identifies a kind of failure: failures with the same error type, the same
// message once its variable parts are normalised and the same top frames, in whatever
// process, run or language version they happened, have equal fingerprints. It holds the
// parts it was computed from, so that an operator can see why two failures group together.
type Fingerprint struct {
	// Version is the algorithm's version (the package's Version when Compute made it).
	Version int
	// Hash is HashLen lowercase hexadecimal digits of the SHA-256 of the parts.
	Hash string
	// Type is the error's type ("NoText", "States.Timeout", "panic"), "" if the error text
	// names none.
	Type string
	// Message is the error's message, normalised (Normalize).
	Message string
	// Frames are the traceback's frames closest to where the error was raised, innermost
	// first, at most MaxFrames; none when there is no traceback or its format is unknown.
	Frames []Frame
}

// String returns the fingerprint as "v<version>:<hash>", for example "v1:3fa9c2d41b7e".
func (f Fingerprint) String() string {
	return "v" + strconv.Itoa(f.Version) + ":" + f.Hash
}

// Compute returns the fingerprint of a failure from its error text and its traceback, as the
// tracker stores them (tracker.Failure):
//
//   - errorText is usually "ErrorType: message", as the fail function writes a Lambda error
//     ("NoText: task t-4 has no text"), or a type alone ("States.Timeout"); a Go pool writes
//     err.Error(), "panic: <value>" for a panic, and the tracker writes "lease lost:
//     <holder> held the task ..." for an attempt whose lease ran out. The type is the name
//     before the first ": ", when it is one (see Fingerprint.Type), or "lease lost"; the
//     rest is the message, normalised (Normalize), a lease-lost record's holder replaced by
//     <holder> (whoever held the lease, it is one kind of failure).
//   - traceback is a Python traceback (awslambdaric's stackTrace, joined), a Node.js stack
//     (err.stack), a Go stack (debug.Stack, a crash) or aws-lambda-go's panic stack as the
//     tracker stores it ("path:line label" lines), or empty. Its frames closest to where the
//     error was raised are kept, without lines, columns or addresses; the Lambda runtime's,
//     Node.js's and Go's runtime frames are dropped, and so are libraries' frames when any
//     frame is the user's. A traceback in a format it does not know adds no frame: the
//     failure is then fingerprinted by its type and message alone.
//
// Compute is a pure function of its arguments: the same failure gives the same fingerprint
// in every process and run. It reads at most the first 64 KiB of errorText and takes time
// linear in the traceback's length. No part of the result holds a control character, a
// terminal escape sequence or a bidirectional-text control.
func Compute(errorText, traceback string) Fingerprint {
	typ, message := split(sanitize(truncate(errorText, maxInput)))
	f := Fingerprint{
		Version: Version,
		Type:    typ,
		Message: Normalize(message),
		Frames:  frames(traceback),
	}
	f.Hash = f.hash()
	return f
}

// hash returns the first HashLen hexadecimal digits of the SHA-256 of the fingerprint's
// canonical encoding: the version, then each part as its length and its bytes, so that no
// two different sets of parts encode the same way.
func (f Fingerprint) hash() string {
	var b strings.Builder
	b.WriteString("fingerprint v" + strconv.Itoa(f.Version) + "\n")
	part := func(name, value string) {
		b.WriteString(name + " " + strconv.Itoa(len(value)) + ":" + value + "\n")
	}
	part("type", f.Type)
	part("message", f.Message)
	for _, fr := range f.Frames {
		part("file", fr.File)
		part("function", fr.Function)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])[:HashLen]
}

// maxType is the longest error type, in bytes: a longer prefix is not a type's name.
const maxType = 128

// typeName matches an error type: a name, dotted or not (NoText, States.Timeout,
// Runtime.ImportModuleError, json), ending the text or followed by a colon.
var typeName = regexp.MustCompile(`^[A-Za-z_$][\w$.]*$`)

// leaseLost is how the tracker records an attempt whose holder let its lease run out
// (tracker.leaseLostError, tracker/claim.go): "lease lost: <holder> held the task and its
// lease ran out at <time> without the task finishing".
const (
	leaseLost     = "lease lost"
	leaseLostHeld = " held the task and its lease ran out at "
)

// split divides a sanitised error text into its type and its message: "NoText: task t-4 has
// no text" is NoText and "task t-4 has no text"; "States.Timeout" is a type alone; a text
// whose first colon follows no name ("open /tmp/x: no such file") is a message alone. A
// lease-lost record is the type "lease lost", with its holder (a host and process, which a
// retry changes) a placeholder.
func split(text string) (typ, message string) {
	text = strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(text, leaseLost+": "); ok {
		if i := strings.Index(rest, leaseLostHeld); i >= 0 {
			rest = "<holder>" + rest[i:]
		}
		return leaseLost, rest
	}
	name, rest, found := strings.Cut(text, ":")
	if len(name) <= maxType && typeName.MatchString(name) && (!found || rest == "" || rest[0] == ' ') {
		return name, rest
	}
	return "", text
}
