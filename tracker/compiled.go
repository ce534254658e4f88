package tracker

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A transition on the hot path (every task's claim and completion) would build the same
// condition and update expressions on every call, differing only in a few strings (the job,
// the lock token, the time); the expression builder then accounts for about a quarter of
// the client's allocations per task. Such a transition builds its expressions once per
// shape instead, with a placeholder for each argument, by the same functions as any other
// write, and each call fills its arguments into the values: the one definition of each
// condition stays the builder code.

// built is a condition and update expression ready to send.
type built struct {
	cond, update *string
	names        map[string]string
	values       map[string]types.AttributeValue
}

// template is a built expression whose string values may hold placeholders for arguments.
type template struct {
	built
	// holes lists, for each value holding placeholders, its pieces: literal text and the
	// arguments in between.
	holes map[string][]piece
}

type piece struct {
	text string
	arg  int // -1 for text
}

// templateKey names a shape: the transition, the job's status codes (they are in the
// values), and which arguments are empty (a builder may leave out what an empty one sets).
type templateKey struct {
	op    string
	codes StatusCodes
	empty uint64
}

// writeArgs is what a compiled write is made of: a struct (A) whose strings, listed by
// strings in a fixed order, are the arguments that differ between calls.
type writeArgs[A any] interface {
	*A
	strings() []*string
}

// placeholder stands for argument i while a template is built: NUL-delimited, which no id
// may hold, and which the fill never rescans, so an argument holding the same text is
// written as it is.
func placeholder(i int) string { return fmt.Sprintf("\x00%d\x00", i) }

// compile returns the expressions that build makes of args, for transition op of a job with
// codes. It builds them once per shape (templateKey), from a copy of args with a placeholder
// in each non-empty string, and fills args' strings into that template on every call. build
// must derive the expressions from args alone (codes being part of the shape), branching on
// nothing but whether a string is empty.
func compile[A any, P writeArgs[A]](t *Tracker, op string, codes StatusCodes, args A, build func(A) (expression.ConditionBuilder, expression.UpdateBuilder)) (*built, error) {
	fields := P(&args).strings()
	values := make([]string, len(fields))
	key := templateKey{op: op, codes: codes}
	for i, f := range fields {
		values[i] = *f
		if *f == "" {
			key.empty |= 1 << i
		}
	}
	tp, ok := t.templates.Load(key)
	if !ok {
		holes := make([]string, len(fields))
		for i, f := range fields {
			if *f != "" {
				holes[i] = placeholder(i)
				*f = holes[i]
			}
		}
		cond, update := build(args)
		expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
		if err != nil {
			return nil, err
		}
		fresh, err := newTemplate(expr, holes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		tp, _ = t.templates.LoadOrStore(key, fresh)
	}
	return tp.(*template).fill(values), nil
}

// newTemplate reads the placeholders out of expr's values. Each of holes (but the empty
// ones) must lie in a string value, and nowhere else, or it could not be filled.
func newTemplate(expr expression.Expression, holes []string) (*template, error) {
	tp := &template{built: built{cond: expr.Condition(), update: expr.Update(), names: expr.Names(), values: expr.Values()},
		holes: map[string][]piece{}}
	for name, v := range tp.values {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok || !strings.Contains(s.Value, "\x00") {
			continue
		}
		var pieces []piece
		for rest := s.Value; rest != ""; {
			i := strings.IndexByte(rest, 0)
			if i < 0 {
				pieces = append(pieces, piece{text: rest, arg: -1})
				break
			}
			if i > 0 {
				pieces = append(pieces, piece{text: rest[:i], arg: -1})
			}
			end := strings.IndexByte(rest[i+1:], 0)
			var n int
			fmt.Sscanf(rest[i+1:i+1+end], "%d", &n)
			pieces = append(pieces, piece{arg: n})
			rest = rest[i+2+end:]
		}
		tp.holes[name] = pieces
	}
	for i, h := range holes {
		found := false
		for _, pieces := range tp.holes {
			for _, p := range pieces {
				found = found || p.arg == i
			}
		}
		if h != "" && !found {
			return nil, fmt.Errorf("argument %d is in no string value", i)
		}
	}
	for _, s := range append([]string{aws.ToString(tp.cond), aws.ToString(tp.update)}, slices.Collect(maps.Values(tp.names))...) {
		if strings.Contains(s, "\x00") {
			return nil, fmt.Errorf("a placeholder is in an expression or a name: %q", s)
		}
	}
	return tp, nil
}

// fill returns the template's expressions with args in its placeholders. The names and
// the values without placeholders are shared between calls: nothing writes to them. The
// filled values' texts are parts of one string, and their attribute values one array: two
// allocations for them all, where each took two.
func (tp *template) fill(args []string) *built {
	size := 0
	for _, pieces := range tp.holes {
		for _, p := range pieces {
			if p.arg < 0 {
				size += len(p.text)
			} else {
				size += len(args[p.arg])
			}
		}
	}
	var b strings.Builder
	b.Grow(size)
	filled := make([]types.AttributeValueMemberS, 0, len(tp.holes))
	values := make(map[string]types.AttributeValue, len(tp.values))
	for name, v := range tp.values {
		pieces, ok := tp.holes[name]
		if !ok {
			values[name] = v
			continue
		}
		start := b.Len()
		for _, p := range pieces {
			if p.arg < 0 {
				b.WriteString(p.text)
			} else {
				b.WriteString(args[p.arg])
			}
		}
		// What a Builder wrote it never changes: this part of its string stays as it is.
		filled = append(filled, types.AttributeValueMemberS{Value: b.String()[start:]})
		values[name] = &filled[len(filled)-1]
	}
	return &built{cond: tp.cond, update: tp.update, names: tp.names, values: values}
}
