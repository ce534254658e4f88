package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// encodingJSON is v as encoding/json writes it without HTML escaping, compact.
func encodingJSON(t testing.TB, v any) (string, error) {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), err
}

// fill sets every exported field of the struct v points to, nested structs and pointers
// included, to a value that is not its zero value, with text from s.
func fill(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), s)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 7, 9, 58, 1, 123456000, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), s+v.Type().Field(i).Name)
			}
		}
	case reflect.String:
		v.SetString(s)
	case reflect.Int:
		v.SetInt(int64(len(s)))
	case reflect.Bool:
		v.SetBool(true)
	default:
		panic("fill: no value for a field of kind " + v.Kind().String() + ": teach fill and appendListTask about it")
	}
}

// TestAppendListTask holds appendListTask to encoding/json: every field set (by
// reflection, so a field added to the view and not to appendListTask fails here), every
// field zero, pointers nil one at a time, strings that need escaping, times of every
// zone and a year JSON cannot hold.
func TestAppendListTask(t *testing.T) {
	t.Parallel()
	text := "a\"b\\c\x00\x01\b\f\n\r\t\x1f<&>\xff\xfe é \u2028\u2029 😀 end"
	var full listTask
	fill(reflect.ValueOf(&full).Elem(), text)
	cases := map[string]listTask{"every field set": full, "every field zero": {}}
	noLease, noCreate, noError, noFailure, noOwner := full, full, full, full, full
	noLease.Lease, noCreate.CreateTime, noError.LastError, noFailure.Failure, noOwner.LockOwner = nil, nil, nil, nil, ""
	cases["no lease"], cases["no create time"], cases["no last error"], cases["no failure"], cases["no lock owner"] = noLease, noCreate, noError, noFailure, noOwner
	zoned := full
	zoned.UpdateTime = time.Date(2026, 12, 7, 9, 58, 1, 0, time.FixedZone("x", -5*3600-30*60))
	cases["a time in another zone, no fraction"] = zoned
	for name, task := range cases {
		want, err := encodingJSON(t, task)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendListTask([]byte("keep:"), &task)
		if err != nil || string(got) != "keep:"+want {
			t.Errorf("%s: appendListTask =\n%s, %v\nwant\n%s", name, got, err, "keep:"+want)
		}
	}
	far := full
	far.UpdateTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, werr := encodingJSON(t, far); werr == nil {
		t.Fatal("encoding/json wrote the year 10000")
	}
	if got, err := appendListTask(nil, &far); err == nil {
		t.Errorf("appendListTask wrote the year 10000: %s", got)
	}
}

// FuzzAppendJSONString: any string is quoted as encoding/json quotes it without HTML
// escaping.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x1f\b\f\n\r\t", "<&>", "\xff\xc3", "é\u2028\u2029😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := encodingJSON(t, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// BenchmarkAppendListTask: a listed task's JSON by appendListTask beside encoding/json, its
// floor before (the task of TestAppendListTask, every field set).
func BenchmarkAppendListTask(b *testing.B) {
	var task listTask
	fill(reflect.ValueOf(&task).Elem(), "g-00-00042 <could not be read> \"quoted\"")
	b.Run("appendListTask", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = appendListTask(buf[:0], &task); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for b.Loop() {
			buf.Reset()
			if err := enc.Encode(&task); err != nil {
				b.Fatal(err)
			}
		}
	})
}
