// Package model is a discrete-event model of the state machine (statemachine.asl.json) at AWS
// scale, on paper: how long a job of many tasks takes through the definition as written, what
// it costs, and which limit binds, against the bound of a run with no overhead at all. It also
// runs the previous definition (pages and batches, testdata/pages.asl.json) beside it.
//
// The model reads the definition (ReadDefinition) and checks that every path it takes exists
// in it (CheckLanes, CheckPages); each Task state's Retry and Catch rules and each Map's
// concurrency come from the definition, not from the model. Platform holds everything assumed
// of AWS, each field with its source; Prices what AWS charges.
//
// A run (RunLanes, RunPages) is a heap of events: each Task state of a loop is an invoke,
// which Lambda may throttle (the function's concurrency limit, its scaling bucket of 1,000
// environments refilled at 100 a second) and which then goes through the state's Retry and
// Catch rules, and a handler's end, where its conditional write takes units from a token bucket
// per index partition and one for the table, or is throttled and retried by the SDK. Lanes
// (the new definition's Express children) and batches (the previous one's) start in the slots
// of a Distributed Map; the parent's states run between them. The worker's time is lognormal.
//
// Not modelled: reads' throttling (a claim's Query reads one index partition, far below its
// 3,000 read units), the account's concurrency limit (Result.PeakOurs says what our functions
// need beside the worker), DynamoDB splitting a hot partition, and a start rate of Distributed
// Map children (none is documented). A lane that outlives the Express limit goes on and is
// counted (Result.TimedOut).
//
// BoundOf gives a job's bound; Study runs the rows the lead asked for and Table and Details
// print them (make model). CutStudy compares a variant of the lanes' budget rule that the
// definition does not have yet, the budget cut (Lanes.Cut), with the definition's; CutTable
// and CutDetails print it.
package model
