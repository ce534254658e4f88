package tracker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/idspace"
)

// Position is where a loop that claims a job's tasks one after another (ClaimNext) stands: the
// part of the job it works (one of the job's index partitions: a shard, or the unsharded
// one), the point of the id space it started from there, and the last task it reached. It is
// plain data that travels through JSON between calls (a state machine's loop carries it).
// The zero Position of a loop number starts the loop.
type Position struct {
	// Loop numbers the loop among the Of loops working the job at once (0 ≤ Loop < Of; Of 0
	// means 1): it chooses the loop's first part and its stretch of the part's id space, so
	// that each loop works a stretch of its own and meets another only once it is done.
	Loop int `json:"loop"`
	Of   int `json:"of,omitempty"`
	// Part is the part being worked, and Parts how many parts the loop has worked (it moves
	// to the next one when its part has nothing due); 0 before the first call.
	Part  int `json:"part"`
	Parts int `json:"parts"`
	// From is the task id after which the loop started in Part ("" for the first), and Until
	// the end of its own stretch ("" for the part's end); After the last task id it reached.
	// Helping says it is done with its stretch and works on into the others'; Wrapped that it
	// went past Part's end and now lists from the beginning up to From.
	From    string `json:"from,omitempty"`
	Until   string `json:"until,omitempty"`
	After   string `json:"after,omitempty"`
	Helping bool   `json:"helping,omitempty"`
	Wrapped bool   `json:"wrapped,omitempty"`
	// Stragglers says the part's todo tasks are done and the loop lists its failed tasks that
	// are due and its tasks whose lease ran out.
	Stragglers bool `json:"stragglers,omitempty"`
	// Claimed counts the tasks the loop claimed, and Refused its refused claims (another
	// loop got there first).
	Claimed int `json:"claimed"`
	Refused int `json:"refused,omitempty"`
	// Done says the loop found nothing due in any part: it is over.
	Done bool `json:"done,omitempty"`
}

// Limits of one ClaimNext call.
const (
	// nextPage is how many claimable todo tasks a listing reads: the loop claims the first
	// and, when another loop took it, a later one.
	nextPage = 8
	// stragglerPage is how many index entries a listing of failed and in-progress tasks reads
	// a query: most in-progress entries are live leases, filtered out.
	stragglerPage = 200
	// nextJumpSpan is about how many tasks a loop skips after a refused claim, leaving them
	// to the loop it met.
	nextJumpSpan = 64
	// maxNextQueries bounds one call's listings; a call that reaches it returns with nothing
	// claimed and the loop not Done, to call again.
	maxNextQueries = 400
)

// ClaimNext claims the next due task of the part of job that pos stands in, for owner, and
// returns its lease (as Claim does) with the position after it. It lists a few claimable
// task ids after pos (one query) and claims the first with one conditional write; when
// another loop took it, it tries a later one of the page, and then jumps a stretch ahead,
// leaving the stretch to the loop it met. When the part has no todo task left after pos it
// goes round from the beginning up to where it started, then lists the part's failed tasks
// that are due and those whose lease ran out, and then moves to the next part. When no part
// has anything due, it returns a nil lease and a position that is Done.
//
// Loops that start with different Loop numbers start in different parts (a sharded job's
// shards) and at points spread over the part's id space, so that they rarely meet.
func (t *Tracker) ClaimNext(ctx context.Context, job string, pos Position, owner string) (*Lease, Position, error) {
	if err := ValidateJob(job); err != nil {
		return nil, pos, err
	}
	if pos.Done {
		return nil, pos, nil
	}
	if err := t.checkLayout(ctx); err != nil {
		return nil, pos, err
	}
	shards, err := t.shards(ctx, job)
	if err != nil {
		return nil, pos, err
	}
	order := partOrder(pos.Loop, max(pos.Of, pos.Loop+1), shards)
	rng := rand.New(rand.NewPCG(uint64(pos.Loop), uint64(pos.Claimed)<<20|uint64(pos.Refused)))
	if pos.Parts == 0 {
		pos.Part = order[0]
		if err := t.enter(ctx, job, shards, &pos, rng); err != nil {
			return nil, pos, err
		}
	}
	for range maxNextQueries {
		page, more, err := t.pendingIn(ctx, job, shards, pos)
		if err != nil {
			return nil, pos, err
		}
		lease, err := t.claimFrom(ctx, job, page, owner, &pos, rng)
		if lease != nil || err != nil {
			return lease, pos, err
		}
		if more && len(page) > 0 {
			continue // claimFrom moved pos past the page
		}
		switch advance(&pos, order) {
		case lastPart:
			pos.Done = true
			return nil, pos, nil
		case nextPart:
			if err := t.enter(ctx, job, shards, &pos, rng); err != nil {
				return nil, pos, err
			}
		}
	}
	return nil, pos, nil
}

// claimFrom claims a task of page (claimable task ids of pos's part, in order), moving pos
// past what it tried. It returns a nil lease when it claimed none: pos is then past the page,
// or a stretch further after a second refusal.
func (t *Tracker) claimFrom(ctx context.Context, job string, page []Task, owner string, pos *Position, rng *rand.Rand) (*Lease, error) {
	refused := 0
	for i := 0; i < len(page); i++ {
		id := page[i].TaskID
		pos.After = id
		if ValidateID(job, id) != nil {
			// Another writer's id that this package refuses (a control character, say) would
			// reach a state machine's state escaped six times over: leave it to an operator.
			continue
		}
		r, err := t.ref(ctx, job, id)
		if err != nil {
			return nil, err
		}
		lease, err := t.claim(ctx, r, owner, listedNew(&page[i]))
		if err == nil {
			pos.Claimed++
			return lease, nil
		}
		var ce *ConflictError
		if !errors.As(err, &ce) {
			return nil, err
		}
		// Another loop took the task (or it finished meanwhile): the loop it met works here
		// too. Skip a random few of the page and, after a second refusal, a stretch ahead.
		pos.Refused++
		if refused++; i+1 < len(page) && refused == 1 {
			i += rng.IntN(len(page) - i - 1)
			continue
		}
		lo, hi := page[0].TaskID, page[len(page)-1].TaskID
		if jump := idspace.Ahead(id, lo, hi, float64(1+rng.IntN(nextJumpSpan))/float64(len(page))); jump > id && ValidateID(job, jump) == nil {
			if (!pos.Wrapped || pos.From == "" || jump < pos.From) && (pos.Helping || pos.Until == "" || jump < pos.Until) {
				pos.After = jump
			}
		}
		return nil, nil
	}
	return nil, nil
}

// step is where advance moved a position.
type step int

const (
	samePart step = iota // the next listing of the same part
	nextPart             // the next part, to enter
	lastPart             // none: every part was worked
)

// advance moves pos to what follows the listing it exhausted: from the end of its own stretch
// on to the part's end, round to its beginning up to where the loop started, then to the
// part's stragglers (the same two legs), then to the next part.
func advance(pos *Position, order []int) step {
	switch {
	case !pos.Helping:
		pos.Helping, pos.After = true, pos.Until
	case !pos.Wrapped && pos.From != "":
		pos.Wrapped, pos.After = true, ""
	case !pos.Stragglers:
		pos.Stragglers, pos.Wrapped, pos.After = true, false, pos.From
	case pos.Parts >= len(order):
		return lastPart
	default:
		pos.Part = order[pos.Parts]
		pos.Parts++
		pos.From, pos.Until, pos.After, pos.Wrapped, pos.Stragglers = "", "", "", false, false
		return nextPart
	}
	return samePart
}

// partOrder is the order in which loop (of loops) works the parts of a job of shards: its
// own shard (loop mod shards) first; then, when there are fewer loops than shards, the
// shards no loop starts in that fall to it (every of-th from its own), before the others;
// the unsharded partition of a sharded job (where writers that do not shard put tasks) last.
func partOrder(loop, of, shards int) []int {
	if shards <= 1 {
		return []int{0}
	}
	order := make([]int, 0, shards+1)
	seen := make([]bool, shards)
	for p := loop % shards; !seen[p]; p = (p + of) % shards {
		order, seen[p] = append(order, p), true
	}
	for k := range shards {
		if p := (loop + k) % shards; !seen[p] {
			order, seen[p] = append(order, p), true
		}
	}
	return append(order, shards)
}

// enter starts pos in its part. In the loop's first part it is the loop's own stretch of the
// part's todo id space (two queries, its first and last id): the part's loops split it
// evenly, in the order of their numbers. In a later part (its own is done) the loop helps
// from a point it draws, and lists on from there.
func (t *Tracker) enter(ctx context.Context, job string, shards int, pos *Position, rng *rand.Rand) error {
	if pos.Parts == 0 {
		pos.Parts = 1
	}
	value := partitions(job, t.Codes(job).Todo, shards)[pos.Part]
	first, found, err := t.edge(ctx, job, value, true, false)
	if err != nil || !found {
		pos.Helping = true
		return err
	}
	last, _, err := t.edge(ctx, job, value, false, false)
	if err != nil {
		return err
	}
	point := func(f float64) string {
		if at := idspace.Between(first, last, f); f > 0 && f < 1 && at > first && ValidateID(job, at) == nil {
			return at
		}
		return ""
	}
	parts := max(shards, 1)
	of := max(pos.Of, pos.Loop+1)
	if pos.Parts > 1 || pos.Part >= parts {
		pos.Helping = true
		pos.From = point(rng.Float64())
		pos.After = pos.From
		return nil
	}
	// The loops of a shard are every shards-th loop, this one the r-th of n.
	r, n := pos.Loop/parts, (of-1-pos.Loop%parts)/parts+1
	pos.From, pos.Until = point(float64(r)/float64(n)), point(float64(r+1)/float64(n))
	pos.After = pos.From
	if r+1 == n || (pos.Until != "" && pos.Until <= pos.From) {
		pos.Until = ""
		pos.Helping = r+1 != n // a stretch too narrow to split: help from the start
	}
	return nil
}

// pendingIn lists claimable task ids of pos's part: its todo tasks after pos, or, once those
// are done, its failed tasks that are due and its tasks whose lease ran out. It reports
// whether the listing may hold more after the page.
func (t *Tracker) pendingIn(ctx context.Context, job string, shards int, pos Position) ([]Task, bool, error) {
	codes := t.Codes(job)
	statuses, limit := []Status{Todo}, nextPage
	if pos.Stragglers {
		statuses, limit = []Status{Failed, InProgress}, stragglerPage
	}
	q := indexQuery{filter: t.claimableFilter(t.now()), projection: listedAttributes, limit: limit}
	switch {
	case pos.Wrapped && pos.From != "":
		q.through = makeKey(job, pos.From)
	case !pos.Helping && pos.Until != "":
		q.through = makeKey(job, pos.Until)
	}
	var all []Task
	more := false
	for _, s := range statuses {
		value := partitions(job, codes.Code(s), shards)[pos.Part]
		tasks, m, err := t.readPartition(ctx, job, s, value, q, pos.After)
		if err != nil {
			return nil, false, fmt.Errorf("next task of %s: %w", job, err)
		}
		all = append(all, tasks...)
		more = more || m
	}
	sort.Slice(all, func(i, j int) bool { return all[i].TaskID < all[j].TaskID })
	if pos.Stragglers && len(all) > nextPage {
		all, more = all[:nextPage], true
	}
	return all, more, nil
}
