package tracker

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Snapshot is a job's tasks counted per status as one view: every task once, in its latest
// status among those read. Count adds up one Select COUNT per status, and a task that moves
// from a status not yet counted to one counted already (a claim, a completion, in a run) is
// counted twice: a 10,000-task job showed 10,002 to 10,058 tasks during a run.
type Snapshot struct {
	JobID string `json:"job_id"`
	// Counts has every status, zero included; Total is their sum, never more than the job's
	// tasks.
	Counts map[Status]int `json:"counts"`
	Total  int            `json:"total"`
	// Moved counts the tasks seen in two statuses while the snapshot was read: each is
	// counted once, in the status it reached last. A task that moved back to a status read
	// already (a retry of a failed task, say) while the snapshot was read is counted in
	// neither, so during a run Total may fall short of the job's size, never exceed it.
	Moved int `json:"moved"`
	// Started and Ended bound the reading, by the tracker's clock.
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
}

// Snapshot counts job's tasks per status as one view (see Snapshot). It reads the key and
// update time of every task's index entry, status after status in the order a task moves
// through them (todo, in progress, failed, succeeded, ignored; a status's shards at once), and
// keeps each task once, with the latest update time. What it costs: the read units of Count
// (which reads the same entries, Select COUNT or not: a read unit per 8 KB of the index,
// about 30 tasks, eventually consistent), about 80 bytes a task on the wire, and 16 bytes a
// task of memory while it adds up; nothing is kept in the table, nothing is written.
func (t *Tracker) Snapshot(ctx context.Context, job string) (*Snapshot, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	shards, err := t.shards(ctx, job)
	if err != nil {
		return nil, err
	}
	codes := t.Codes(job)
	snap := &Snapshot{JobID: job, Counts: map[Status]int{}, Started: t.now()}
	seen := map[uint64]seenTask{}
	var mu sync.Mutex
	for _, s := range Statuses() {
		snap.Counts[s] = 0
		parts := partitions(job, codes.Code(s), shards)
		err := forEach(ctx, len(parts), groupReads, func(i int) error {
			q := indexQuery{value: parts[i], projection: []string{KeyAttribute, attrUpdateTime}}
			return t.queryAll(ctx, q, func(out *dynamodb.QueryOutput) error {
				mu.Lock()
				defer mu.Unlock()
				for _, av := range out.Items {
					snap.Moved += addSeen(seen, s, av)
				}
				return nil
			})
		})
		if err != nil {
			return nil, fmt.Errorf("count %s tasks of %s: %w", s, job, err)
		}
	}
	for _, st := range seen {
		snap.Counts[st.status]++
		snap.Total++
	}
	snap.Ended = t.now()
	return snap, nil
}

// seenTask is where a snapshot saw a task last: its status, and its update time in
// microseconds since the epoch (the stored text, read as a number: it sorts the same).
type seenTask struct {
	status Status
	at     int64
}

// addSeen records a task's index entry in status s and returns 1 when the task was seen in
// another status before (it moved while the snapshot read).
func addSeen(seen map[uint64]seenTask, s Status, av map[string]types.AttributeValue) int {
	key, ok := av[KeyAttribute].(*types.AttributeValueMemberS)
	if !ok {
		return 0
	}
	var at int64
	if ut, ok := av[attrUpdateTime].(*types.AttributeValueMemberS); ok {
		if v, err := parseTime(ut.Value); err == nil {
			at = v.UnixMicro()
		}
	}
	h := fnv.New64a()
	h.Write([]byte(key.Value))
	k := h.Sum64()
	prev, dup := seen[k]
	if !dup {
		seen[k] = seenTask{status: s, at: at}
		return 0
	}
	if prev.status == s {
		return 0 // the same entry in two shards' reads cannot be; an unsharded copy can
	}
	if at >= prev.at {
		seen[k] = seenTask{status: s, at: at}
	}
	return 1
}
