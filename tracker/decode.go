package tracker

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Every claim decodes the task it took, and every listing the tasks it read. By reflection
// (attributevalue.UnmarshalMap) that took about a tenth of a pool's CPU time for a claim, so
// decodeItem reads the shapes this package and the seed write by hand, and leaves every
// other shape to UnmarshalMap: what such an item decodes to, or the error it fails with,
// stays UnmarshalMap's.

// decodeItem reads a task's item. It reads the attributes named exactly as item's fields, as
// the seed does: UnmarshalMap would also read an attribute named like a field in another
// case ("Retry"), and with both in an item, whichever the map gave last.
func decodeItem(av map[string]types.AttributeValue) (item, error) {
	var it item
	if readItem(av, &it) {
		return it, nil
	}
	exact := make(map[string]types.AttributeValue, len(itemFields))
	for _, f := range itemFields {
		if v, ok := av[f.name]; ok {
			exact[f.name] = v
		}
	}
	it = item{}
	err := attributevalue.UnmarshalMap(exact, &it)
	return it, err
}

// itemField is an attribute an item holds, and the field it goes to: a *string, a
// **string (absent and NULL both nil), an *int or a *[]string.
type itemField struct {
	name  string
	field func(*item) any
}

// itemFields are the attributes of an item, one per field.
var itemFields = []itemField{
	{KeyAttribute, func(it *item) any { return &it.Key }},
	{StatusAttribute, func(it *item) any { return &it.Value }},
	{attrUpdateTime, func(it *item) any { return &it.UpdateTime }},
	{attrRetry, func(it *item) any { return &it.Retry }},
	{attrLock, func(it *item) any { return &it.Lock }},
	{attrLockTime, func(it *item) any { return &it.LockTime }},
	{attrData, func(it *item) any { return &it.Data }},
	{attrErrors, func(it *item) any { return &it.Errors }},
	{attrCreateTime, func(it *item) any { return &it.CreateTime }},
	{attrAttempts, func(it *item) any { return &it.Attempts }},
	{attrLockOwner, func(it *item) any { return &it.LockOwner }},
	{attrLastLock, func(it *item) any { return &it.LastLock }},
	{attrLastOutcome, func(it *item) any { return &it.LastOutcome }},
	{attrRetryAt, func(it *item) any { return &it.RetryAt }},
	{attrHistory, func(it *item) any { return &it.History }},
	{FailurePartAttribute, func(it *item) any { return &it.FailurePart }},
	{FailureKeyAttribute, func(it *item) any { return &it.FailureKey }},
	{attrFailureMessage, func(it *item) any { return &it.FailureMessage }},
}

// readItem reads av's fields into it and reports whether each had a shape it reads as
// UnmarshalMap would: a string field from S or NULL, a number from an N that is an int (or
// NULL), the history from NULL or a list of S and NULL. It refuses, and it is left partly
// written, on any other shape.
func readItem(av map[string]types.AttributeValue, it *item) bool {
	for _, f := range itemFields {
		v, ok := av[f.name]
		if !ok {
			continue
		}
		if _, null := v.(*types.AttributeValueMemberNULL); null {
			continue // the zero value, as it already is
		}
		if !readField(f.field(it), v) {
			return false
		}
	}
	return true
}

// readField reads a non-NULL v into dst, one of itemFields' pointers.
func readField(dst any, v types.AttributeValue) bool {
	switch dst := dst.(type) {
	case *string:
		s, ok := v.(*types.AttributeValueMemberS)
		if ok {
			*dst = s.Value
		}
		return ok
	case **string:
		s, ok := v.(*types.AttributeValueMemberS)
		if ok {
			text := s.Value
			*dst = &text
		}
		return ok
	case *int:
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			return false
		}
		i, err := strconv.ParseInt(n.Value, 10, strconv.IntSize)
		if err != nil {
			return false
		}
		*dst = int(i)
		return true
	case *[]string:
		return readStrings(dst, v)
	}
	return false
}

// readStrings reads a list of S and NULL ("") into dst, never nil.
func readStrings(dst *[]string, v types.AttributeValue) bool {
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok {
		return false
	}
	out := make([]string, len(l.Value))
	for i, e := range l.Value {
		switch e := e.(type) {
		case *types.AttributeValueMemberS:
			out[i] = e.Value
		case *types.AttributeValueMemberNULL:
		default:
			return false
		}
	}
	*dst = out
	return true
}
