package tracker

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sharded index keys. Every in-progress task of a job shares one index key ({job}____03), and
// DynamoDB serves one key's partition at most 1,000 write units a second; a claim puts an
// entry there and its completion deletes it, so one job would top out near 500 tasks a
// second, and an overloaded index throttles the table's writes too. A job created with
// Shards N > 1 (JobOptions) spreads each status over N index keys, {job}____{code}____{shard}
// with the shard two digits, chosen by ShardOf from the task id. Shards 1, the default, is the
// seed's layout byte for byte.
//
// The seed's code reads a sharded task's status right (it splits value at the separator and
// takes the second part), and gets, claims and finishes it by key; but its queries by status
// ask for {job}____{code}, which a sharded task is not under, so to the seed's listings a
// sharded job looks empty. A seed writer that moves a sharded task writes the unsharded
// value: this package lists that partition too (see partitions), so no task is lost.

// MaxShards bounds a job's shards (two digits in the index key).
const MaxShards = 100

// ShardOf returns the shard of a task among n: the 32-bit FNV-1a hash of the task id's bytes,
// modulo n (0 when n ≤ 1). It is stable across processes and languages (unlike Python's
// salted hash), so another writer can compute it:
//
//	h = 2166136261
//	for b in task_id.encode(): h = ((h ^ b) * 16777619) % 2**32
//	shard = h % n
func ShardOf(task string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(task))
	return int(h.Sum32() % uint32(n))
}

// shardSuffix is what a task's index value carries after its status code: "" for an unsharded
// job, "____{shard}" otherwise.
func shardSuffix(task string, shards int) string {
	if shards <= 1 {
		return ""
	}
	return fmt.Sprintf("%s%02d", Separator, ShardOf(task, shards))
}

// partitions returns the index values that hold job's tasks of code: one per shard and the
// unsharded one (where a sharded job's tasks land when a writer that does not shard, the
// seed's say, moves them), or only the unsharded one for a job of one shard.
func partitions(job string, code, shards int) []string {
	base := makeValue(job, code)
	if shards <= 1 {
		return []string{base}
	}
	out := make([]string, 0, shards+1)
	for i := range shards {
		out = append(out, fmt.Sprintf("%s%s%02d", base, Separator, i))
	}
	return append(out, base)
}

// parseValue reads the status code and shard (-1 when unsharded) of a task of job from its
// index value, {job}____{code} or {job}____{code}____{shard}.
func parseValue(job, value string) (code, shard int, ok bool) {
	rest, found := strings.CutPrefix(value, job+Separator)
	if !found {
		return -1, -1, false
	}
	codeText, shardText, sharded := strings.Cut(rest, Separator)
	code, err := strconv.Atoi(codeText)
	if err != nil || len(codeText) != 2 {
		return -1, -1, false
	}
	if !sharded {
		return code, -1, true
	}
	shard, err = strconv.Atoi(shardText)
	if err != nil || len(shardText) != 2 {
		return -1, -1, false
	}
	return code, shard, true
}

// shardCache remembers each job's shard count, read from the job registry. A job's shards
// never change once its registry item is written; a job without one (created by the seed, or
// not yet created) counts as one shard for a minute and is looked up again after, so that a
// Tracker that saw a job before it was created learns its shards.
type shardCache struct {
	mu    sync.Mutex
	known map[string]shardEntry
}

type shardEntry struct {
	shards int
	until  time.Time // zero: for good
}

const unregisteredTTL = time.Minute

// shards returns job's shard count (1 for a job the registry does not hold).
func (t *Tracker) shards(ctx context.Context, job string) (int, error) {
	now := t.cfg.Now()
	t.shardCache.mu.Lock()
	e, ok := t.shardCache.known[job]
	t.shardCache.mu.Unlock()
	if ok && (e.until.IsZero() || now.Before(e.until)) {
		return e.shards, nil
	}
	j, err := t.Job(ctx, job)
	switch {
	case err == nil:
		e = shardEntry{shards: max(j.Shards, 1)}
	case isNotFound(err):
		e = shardEntry{shards: 1, until: now.Add(unregisteredTTL)}
	default:
		return 0, err
	}
	t.rememberShards(job, e)
	return e.shards, nil
}

func (t *Tracker) rememberShards(job string, e shardEntry) {
	t.shardCache.mu.Lock()
	defer t.shardCache.mu.Unlock()
	if t.shardCache.known == nil {
		t.shardCache.known = map[string]shardEntry{}
	}
	t.shardCache.known[job] = e
}
