// Package fingerprint groups failures by cause: from a failed attempt's error text and
// traceback, as the tracker stores them, it computes a short identifier that two failures
// share when they have the same cause, whatever task, process, run or build they happened
// in. It is a pure function of its input, with no I/O and nothing but the standard library.
//
// A fingerprint is computed, after Sentry's grouping (a fingerprint from the exception's
// type, its normalised message and its top in-app frames, versioned so that a new algorithm
// applies to new events only), from three parts:
//
//   - the error type: "NoText" of "NoText: task t-4 has no text", "States.Timeout",
//     "panic" of a Go pool's "panic: ...", "lease lost" of the tracker's own record;
//   - the message, its variable parts (numbers, hex, UUIDs, quoted values, paths and URLs,
//     times, addresses, durations) replaced by typed placeholders (Normalize);
//   - the traceback's MaxFrames frames closest to where the error was raised, as file base
//     name and function, without line numbers or addresses, for Python tracebacks, Node.js
//     stacks and Go stacks; the runtimes' own frames left out, and libraries' frames too
//     when any frame is the user's.
//
// Its text is "v1:" and 12 hexadecimal digits of a SHA-256 over the parts (HashLen says why
// 12), short enough to paste on a command line; the Fingerprint holds the parts, which say
// why two failures group together.
//
// Two tasks that fail on the same raise of examples/python/handler.py, the second after an
// edit moved the raise a line down, group together:
//
//	NoText: task t-4 has no text
//	  File "/var/task/handler.py", line 17, in handler
//	    raise NoText(f"task {event['task_id']} has no text")
//
//	NoText: task t-17 has no text
//	  File "/var/task/handler.py", line 18, in handler
//	    raise NoText(f"task {event['task_id']} has no text")
//
// Both are v1:a37a1a76d0b6: type NoText, message "task t-<num> has no text", frame
// "handler (handler.py)". A task whose text is a number fails in the same function with
// another exception, and is another group, v1:d77df55bd484:
//
//	AttributeError: 'int' object has no attribute 'split'
//	  File "/var/task/handler.py", line 15, in handler
//	    words = len(event["data"].get("text", "").split())
//
// What a fingerprint cannot see: a variable word with no digit in it ("task photo-abc
// failed") reads as part of the message, so two such messages are two groups (quote the
// value and it is a <str>); and two causes that raise the same type from the same frames
// with messages that normalise alike (KeyError 'text' and KeyError 'data') are one group.
//
// Fingerprints are versioned (Version). A new algorithm bumps the version and applies to new
// failures only: a stored fingerprint keeps the version it was computed with, and never
// equals one of another version.
package fingerprint
