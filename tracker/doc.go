// Package tracker tracks the status of many tasks in one DynamoDB table.
//
// A task belongs to a job and is one item in the table, laid out as the wire contract in
// docs/table-layout.md says, so that the seed's Python code and this package can read and
// finish each other's tasks. Every state transition (Claim, Complete, Fail, Extend, Retry,
// Ignore) is a single conditional write: no transition reads before it writes, and a
// refused transition reports why with an error usable with errors.Is and errors.As, taken
// from the item as it was when the condition failed.
//
// The life of a task:
//
//	CreateTask ──▶ todo ──Claim──▶ in progress ──Complete──▶ succeeded
//	                ▲                  │  ▲
//	                │                Fail └── Claim again once the lease expires
//	                │                  ▼
//	              Retry ◀──────── failed ──Claim──▶ in progress ...
//	                │                  │ (the MaxRetry-th failure)
//	                └──────────────── ignored ◀──── Ignore
//
// A Claim returns a Lease whose token is the task's lock. Complete, Fail and Extend apply only
// while that token is still the lock, so a worker whose lease expired and was taken over
// cannot overwrite the new holder's result. Replaying a Complete or Fail that already
// applied (Lambda and Step Functions retry invocations) returns the task's current state
// and counts nothing twice.
package tracker
