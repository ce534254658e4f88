package tracker

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestItemFieldsAreItemsTags: itemFields names every field of item by its dynamodbav tag,
// and points each name at that field.
func TestItemFieldsAreItemsTags(t *testing.T) {
	t.Parallel()
	var it item
	v := reflect.ValueOf(&it).Elem()
	var tags []string
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("dynamodbav"), ",")
		tags = append(tags, name)
		i := slices.IndexFunc(itemFields, func(f itemField) bool { return f.name == name })
		if i < 0 {
			t.Errorf("itemFields has no %q (field %s)", name, v.Type().Field(i).Name)
			continue
		}
		if got, want := reflect.ValueOf(itemFields[i].field(&it)).Pointer(), v.Field(i).Addr().Pointer(); got != want {
			t.Errorf("itemFields[%q] points at another field than %s", name, v.Type().Field(i).Name)
		}
	}
	if len(itemFields) != len(tags) {
		t.Errorf("itemFields has %d attributes, item %d fields", len(itemFields), len(tags))
	}
}

func avS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func avN(n string) types.AttributeValue { return &types.AttributeValueMemberN{Value: n} }

var avNull types.AttributeValue = &types.AttributeValueMemberNULL{Value: true}

// trackerItem is a task in progress as the tracker writes it, after a failure.
func trackerItem() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		KeyAttribute: avS("parse-json_t-1"), StatusAttribute: avS("parse-json_01"), attrUpdateTime: avS("2026-12-07T09:15:04.123456+0000"),
		attrRetry: avN("1"), attrLock: avS("0123456789abcdef0123456789abcdef"), attrLockTime: avS("2026-12-07T09:15:04.123456+0000"),
		attrData: avS(`{"a":1}`), attrErrors: avS(`{"error":"boom","stacktrace":""}`), attrCreateTime: avS("2026-12-07T09:00:00.000000+0000"),
		attrAttempts: avN("2"), attrLockOwner: avS("pool-0/3"), attrLastLock: avS("fedcba9876543210fedcba9876543210"),
		attrLastOutcome: avS("fail"), attrHistory: &types.AttributeValueMemberL{Value: []types.AttributeValue{avS(`{"attempt":1}`), avS("")}},
		FailureKeyAttribute: avS("fp"), attrFailureMessage: avS("boom"),
	}
}

// with returns trackerItem with the attributes of set (nil values removed).
func with(set map[string]types.AttributeValue) map[string]types.AttributeValue {
	av := trackerItem()
	for name, v := range set {
		if v == nil {
			delete(av, name)
		} else {
			av[name] = v
		}
	}
	return av
}

// TestDecodeItem: decodeItem reads each item's fields as UnmarshalMap does, the same item or
// an error alike, reading by hand (fast) exactly the shapes this package and the seed write.
func TestDecodeItem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		av   map[string]types.AttributeValue
		fast bool
	}{
		{"the tracker's item", trackerItem(), true},
		{"the seed's new task", map[string]types.AttributeValue{KeyAttribute: avS("j_t"), StatusAttribute: avS("j_00"),
			attrUpdateTime: avS("2026-12-07T09:15:04.123456+0000"), attrRetry: avN("0"), attrLock: avNull,
			attrLockTime: avS("2026-12-07T09:15:04.123456+0000"), attrData: avNull, attrErrors: avNull}, true},
		{"NULL everywhere", with(map[string]types.AttributeValue{attrRetry: avNull, attrHistory: avNull, attrLockOwner: avNull}), true},
		{"a NULL in the history", with(map[string]types.AttributeValue{attrHistory: &types.AttributeValueMemberL{Value: []types.AttributeValue{avNull, avS("x")}}}), true},
		{"an empty history", with(map[string]types.AttributeValue{attrHistory: &types.AttributeValueMemberL{}}), true},
		{"an attribute of no field", with(map[string]types.AttributeValue{"bulk": avS("b-1"), "other": avN("7")}), true},
		{"a negative retry", with(map[string]types.AttributeValue{attrRetry: avN("-3")}), true},
		{"a field's name in capitals", with(map[string]types.AttributeValue{"Retry": avN("9"), "KEY": avN("1")}), true},
		{"a retry as a string", with(map[string]types.AttributeValue{attrRetry: avS("3")}), false},
		{"a fractional retry", with(map[string]types.AttributeValue{attrRetry: avN("1.5")}), false},
		{"a retry out of range", with(map[string]types.AttributeValue{attrAttempts: avN("99999999999999999999")}), false},
		{"a key as a number", with(map[string]types.AttributeValue{KeyAttribute: avN("12")}), false},
		{"a history as a string set", with(map[string]types.AttributeValue{attrHistory: &types.AttributeValueMemberSS{Value: []string{"a"}}}), false},
		{"a history holding a number", with(map[string]types.AttributeValue{attrHistory: &types.AttributeValueMemberL{Value: []types.AttributeValue{avN("1")}}}), false},
		{"a lock as a boolean", with(map[string]types.AttributeValue{attrLock: &types.AttributeValueMemberBOOL{Value: true}}), false},
		{"data as a map", with(map[string]types.AttributeValue{attrData: &types.AttributeValueMemberM{}}), false},
		{"no attribute", map[string]types.AttributeValue{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fast item
			if ok := readItem(tc.av, &fast); ok != tc.fast {
				t.Errorf("read by hand: %v, want %v", ok, tc.fast)
			}
			checkLikeUnmarshalMap(t, tc.av)
		})
	}
}

// checkLikeUnmarshalMap fails t unless decodeItem reads av as attributevalue.UnmarshalMap
// reads its attributes named exactly as item's fields.
func checkLikeUnmarshalMap(t *testing.T, av map[string]types.AttributeValue) {
	t.Helper()
	got, err := decodeItem(av)
	exact := map[string]types.AttributeValue{}
	for name, v := range av {
		if !slices.ContainsFunc(itemFields, func(f itemField) bool { return f.name != name && strings.EqualFold(f.name, name) }) {
			exact[name] = v
		}
	}
	var want item
	werr := attributevalue.UnmarshalMap(exact, &want)
	if (err == nil) != (werr == nil) || (err == nil && !reflect.DeepEqual(got, want)) {
		t.Errorf("decodeItem = %+v, %v\nUnmarshalMap: %+v, %v", got, err, want, werr)
	}
}

// TestDecodeItemReadsExactNames: an attribute named like a field in another case is not that
// field, as the seed reads it, and whatever order the map gives.
func TestDecodeItemReadsExactNames(t *testing.T) {
	t.Parallel()
	for range 20 {
		got, err := decodeItem(map[string]types.AttributeValue{attrRetry: avN("1"), "Retry": avN("9"), "RETRY": avN("8"), "Key": avS("k")})
		if err != nil || got.Retry != 1 || got.Key != "" {
			t.Fatalf("decodeItem = retry %d, key %q, %v; want retry 1, no key", got.Retry, got.Key, err)
		}
	}
}

// FuzzDecodeItem: decodeItem reads any item's fields as UnmarshalMap does. spec picks each
// attribute's name and shape by two bytes; text, split at '|', gives the values in turn.
func FuzzDecodeItem(f *testing.F) {
	f.Add([]byte{0, 0, 3, 1, 4, 2, 14, 5}, "j_t|7|x")
	f.Add([]byte{3, 1, 21, 1}, "1|2")
	f.Add([]byte{14, 5, 14, 6, 4, 7}, "a|b|c")
	f.Add([]byte{3, 0, 9, 3, 1, 4}, "1.5|x|y")
	var names []string
	for _, f := range itemFields {
		names = append(names, f.name)
	}
	names = append(names, "Retry", "KEY", "Lock", "bulk", "other")
	f.Fuzz(func(t *testing.T, spec []byte, text string) {
		texts := strings.Split(text, "|")
		value := func(i int) string { return texts[i%len(texts)] }
		av := map[string]types.AttributeValue{}
		for i := 0; i+1 < len(spec); i += 2 {
			s := value(i / 2)
			var v types.AttributeValue
			switch spec[i+1] % 8 {
			case 0:
				v = avS(s)
			case 1:
				v = avN(s)
			case 2:
				v = avNull
			case 3:
				v = &types.AttributeValueMemberBOOL{Value: s != ""}
			case 4:
				v = &types.AttributeValueMemberSS{Value: texts}
			case 5:
				v = &types.AttributeValueMemberL{Value: []types.AttributeValue{avS(s), avNull}}
			case 6:
				v = &types.AttributeValueMemberL{Value: []types.AttributeValue{avN(s)}}
			case 7:
				v = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"a": avS(s)}}
			}
			av[names[int(spec[i])%len(names)]] = v
		}
		checkLikeUnmarshalMap(t, av)
	})
}

// BenchmarkDecodeItem: decodeItem beside UnmarshalMap of the tracker's item, its floor
// before it.
func BenchmarkDecodeItem(b *testing.B) {
	av := trackerItem()
	b.Run("decodeItem", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeItem(av); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UnmarshalMap", func(b *testing.B) {
		for b.Loop() {
			var it item
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				b.Fatal(err)
			}
		}
	})
}
