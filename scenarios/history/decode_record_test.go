package history

import (
	"encoding/json"
	"reflect"
	"testing"
)

// decodeRecordLikeJSON checks that decodeRecord gives what json.Unmarshal
// followed by sharer.share gives, or fails where it fails.
func decodeRecordLikeJSON(t *testing.T, in string) {
	t.Helper()
	var want Record
	wantErr := json.Unmarshal([]byte(in), &want)
	if wantErr == nil {
		newSharer("").share(reflect.ValueOf(&want).Elem())
	}
	var got Record
	gotErr := decodeRecord([]byte(in), &got, newSharer(""))
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s\ndecodeRecord error %v, json.Unmarshal error %v", in, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s\ndecodeRecord   %+v\njson.Unmarshal %+v", in, got, want)
	}
}

// oddRecords are workload records off the fast path or at its edges.
var oddRecords = []string{
	`{}`,
	`{"kind": "submit", "id": "8707a01d", "at": "2026-01-05T10:00:00Z", "accepted": true, "status": 200, "traceId": "53f5f6de33405df954aa30f182d08748", "attrs": {"email": "c@d.io", "language": "en"}}`,
	`{"kind":"buy","attrs":{}}`,
	`{"kind":"buy","attrs":null}`,
	`{"kind":"buy","attrs":{"a":"1"},"attrs":{"b":"2"}}`,
	`{"attrs":{"a":"1","a":"2"}}`,
	`{"attrs":{"b":"1","a":"2","c":""}}`,
	`{"attrs":{"a":1}}`,
	`{"Kind":"buy","ID":"x"}`,
	`{"kind":"a\"b","id":"caf\u00e9"}`,
	`{"id":"caf` + "\xff" + `"}`,
	`{"kind":null}`,
	`{"status":200.0}`,
	`{"status":-1}`,
	`{"status":"200"}`,
	`{"accepted":"yes"}`,
	`{"accepted":false,"accepted":true}`,
	`{"at":"2026-01-05T11:00:00+02:00"}`,
	`{"at":"2026-01-05 10:00:00"}`,
	`{"traceId":""}`,
	`{"traceId":"zz"}`,
	`{"unknown":[1],"kind":"x"}`,
	`{"kind":"x",}`,
	`{"kind":"x"} x`,
	`[]`,
	``,
}

func TestDecodeRecordMatchesEncodingJSON(t *testing.T) {
	for _, in := range oddRecords {
		decodeRecordLikeJSON(t, in)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, in := range oddRecords {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) { decodeRecordLikeJSON(t, in) })
}
