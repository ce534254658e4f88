package worker

import "github.com/dynamodb-tracker/dynamodb-tracker/tracker"

// ErrInvalidWorkerOutput is tracker.ErrInvalidWorkerOutput: the error of an attempt whose
// handler returned a result that cannot be the task's data (see tracker.CheckResult). The
// pool records such an attempt as failed at once, with an error that reads
// "InvalidWorkerOutput: " and what was wrong, as the state machine records a worker's bad
// output; Run returns it wrapped.
var ErrInvalidWorkerOutput = tracker.ErrInvalidWorkerOutput
