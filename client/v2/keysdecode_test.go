package client

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func addDifferentialSeeds(f *testing.F) {
	for _, body := range []string{
		`{"action":"set","node":{"key":"/a","value":"b","modifiedIndex":4,"createdIndex":4},"prevNode":{"key":"/a","value":"a","modifiedIndex":3,"createdIndex":3}}`,
		`{"action":"get","node":{"key":"/d","dir":true,"nodes":[{"key":"/d/x","value":"1","expiration":"2026-01-01T00:00:00.123456789Z","ttl":5,"modifiedIndex":7,"createdIndex":7},{"key":"/d/e","dir":true,"nodes":[]},{"key":"/d/f","dir":true,"nodes":[{"key":"/d/f/g","value":""}]}],"modifiedIndex":2,"createdIndex":2}}`,
		` { "action" : "get" , "node" : { "key" : "/k" , "value" : "\u003chi\u003e \"q\" \\ \/ \b\f\n\r\t \ud83d\ude00 \ud800 \udc00x é" } } `,
		`{"action":"get","node":{"key":"/k","value":"\ud83d\u0041"}}`,
		`{"action":"get","node":{"key":"/k","value":"héllo ☃"}}`,
		`{"action":"get","node":{"key":"/k","value":"a\xffb"}}`,
		`{"action":"get","node":{"key":"/a"},"node":{"value":"b"}}`,
		`{"action":"get","ACTION":"set"}`, `{"Action":"get"}`, `{"actio\u006e":"get"}`, `{"action":"get","other":1}`,
		`{"action":"get","node":{"nodes":[null,{"key":"x"}]}}`, `{"action":"get","node":null,"prevNode":null}`,
		`{"action":"get","node":{"key":null,"value":null,"dir":null,"nodes":null,"ttl":null,"expiration":null,"createdIndex":null,"modifiedIndex":null}}`,
		`{"action":"get","node":{"ttl":-0,"createdIndex":18446744073709551615}}`,
		`{"action":"get","node":{"ttl":1.5}}`, `{"action":"get","node":{"ttl":1e2}}`, `{"action":"get","node":{"createdIndex":18446744073709551616}}`,
		`{"action":"get","node":{"createdIndex":-1}}`, `{"action":"get","node":{"createdIndex":01}}`, `{"action":"get","node":{"ttl":-}}`,
		`{"action":"get","node":{"dir":"true"}}`, `{"action":"get","node":{"dir":tru}}`, `{"action":"get","node":{"dir":false}}`,
		`{"action":"get","node":{"expiration":"2026-13-01T00:00:00Z"}}`, `{"action":"get","node":{"expiration":"\u0032026-01-01T00:00:00Z"}}`,
		`{"action":"get"}x`, `{"action":"get",}`, `{"action":"get"`, `{"action":"g` + "\x01" + `"}`, `{"action":"get\q"}`, `{"action":"\u12"}`,
		`{"errorCode":100,"message":"Key not found","cause":"/a","index":4}`, `{"errorCode":-1,"message":"m"}`,
		`{"errorCode":100,"errorCode":101}`, `{"errorCode":1.0}`, `{"errorcode":100}`, `{"errorCode":100,"cause":"\u00e9"}`,
		`{}`, `null`, `[]`, `""`, `1`, ``, "\x00",
		`{"action":"get","node":` + strings.Repeat(`{"nodes":[`, 300) + strings.Repeat(`]}`, 300) + `}`,
	} {
		f.Add([]byte(body))
	}
}

// FuzzFastDecodeMatchesEncodingJSON checks that the keys decoders decode
// every body into what encoding/json makes of it, or fail where it fails.
func FuzzFastDecodeMatchesEncodingJSON(f *testing.F) {
	addDifferentialSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var want Response
		wantErr := json.Unmarshal(body, &want)
		if got, ok := decodeResponseFast(body, false); ok {
			if wantErr != nil {
				t.Fatalf("fast path decoded %q into %+v, want encoding/json's error %v", body, got, wantErr)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("fast path decoded %q into\n%s\nwant\n%s", body, dump(got), dump(&want))
			}
		}
		if got, ok := decodeResponseFast(slices.Clone(body), true); ok && !reflect.DeepEqual(*got, want) {
			t.Fatalf("fast path, given the body, decoded %q into\n%s\nwant\n%s", body, dump(got), dump(&want))
		}
		got, err := unmarshalResponse(body, false)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decoding %q: got error %v, encoding/json's %v", body, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(*got, want) {
			t.Fatalf("decoded %q into\n%s\nwant\n%s", body, dump(got), dump(&want))
		}

		var wantE Error
		wantEErr := json.Unmarshal(body, &wantE)
		if gotE, ok := decodeErrorFast(body); ok {
			if wantEErr != nil || gotE != wantE {
				t.Fatalf("fast path decoded error body %q into %+v, want %+v (error %v)", body, gotE, wantE, wantEErr)
			}
		}
	})
}

func dump(r *Response) string {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestFastDecodeSharesOneAllocationPerNodeLevel(t *testing.T) {
	body := []byte(`{"action":"get","node":{"key":"/d","dir":true,"nodes":[{"key":"/d/a","value":"1"},{"key":"/d/b","value":"2"},{"key":"/d/c","value":"3"}]}}`)
	r, ok := decodeResponseFast(body, false)
	if !ok {
		t.Fatalf("fast path declined %s", body)
	}
	ns := r.Node.Nodes
	if len(ns) != 3 || ns[0].Key != "/d/a" || ns[2].Value != "3" {
		t.Fatalf("got nodes %v, want /d/a, /d/b, /d/c", ns)
	}
	if raceEnabled {
		t.Skip("sync.Pool drops scratch space at random under the race detector")
	}
	allocs := testing.AllocsPerRun(100, func() { decodeResponseFast(body, false) })
	// body copy, Response block, node values, node pointers
	if allocs > 4 {
		t.Errorf("decoding a 3-node directory took %v allocations, want at most 4", allocs)
	}
}

// directoryBody returns the body of a recursive get of a directory of n
// keys with values of 64 bytes, as etcd formats it.
func directoryBody(n int) []byte {
	r := Response{Action: "get", Node: &Node{Key: "/dir", Dir: true, CreatedIndex: 4, ModifiedIndex: 4}}
	for i := range n {
		k := "/dir/" + strings.Repeat("k", 8) + string(rune('a'+i%26))
		r.Node.Nodes = append(r.Node.Nodes, &Node{Key: k, Value: strings.Repeat("v", 64), CreatedIndex: uint64(i + 5), ModifiedIndex: uint64(i + 5)})
	}
	b, err := json.Marshal(&r)
	if err != nil {
		panic(err)
	}
	return b
}

func BenchmarkDecodeDirectory(b *testing.B) {
	body := directoryBody(1000)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeResponseFast(body, false); !ok {
				b.Fatal("fast path declined an etcd body")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r Response
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestHasSpecialByteAgreesWithPlainByte(t *testing.T) {
	// Every byte value in every position, among plain filler bytes.
	for pos := range 8 {
		for c := range 256 {
			word := []byte("abcdefgh")
			word[pos] = byte(c)
			got := hasSpecialByte(load64(string(word), 0))
			if want := !plainByte[c]; got != want {
				t.Errorf("byte %#x at %d: hasSpecialByte = %v, want %v", c, pos, got, want)
			}
		}
	}
}

// escapedDirectoryBody returns the body of a recursive get of n keys whose
// values are the given byte repeated, size times for the first and growth
// more for each after it (so that a slab sized from the first nodes can fall
// short);
// encoding/json escapes control bytes as \u00XX, six bytes of reply for
// one of value. Some values end mid-rune: invalid UTF-8, which the fast
// path leaves to encoding/json.
func escapedDirectoryBody(n, size, growth int, c byte) []byte {
	r := Response{Action: "get", Node: &Node{Key: "/dir", Dir: true}}
	for i := range n {
		v := strings.Repeat(string(c), size+i*growth) + "é☃\U0001F600" + strings.Repeat("x", i%7)
		r.Node.Nodes = append(r.Node.Nodes, &Node{Key: "/dir/k" + strings.Repeat("k", i%5), Value: v[:len(v)-i%3]})
	}
	b, err := json.Marshal(&r)
	if err != nil {
		panic(err)
	}
	return b
}

func TestFastDecodeOfEscapedValuesAcrossSlabsMatchesEncodingJSON(t *testing.T) {
	for _, size := range []int{1, 100, slabSize / 6, slabSize, 5 * slabSize} {
		for _, c := range []byte{0, 'a'} {
			body := escapedDirectoryBody(40, size, size/8, c)
			var want Response
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatal(err)
			}
			for _, owned := range []bool{false, true} {
				got, err := unmarshalResponse(slices.Clone(body), owned)
				if err != nil {
					t.Fatalf("values of %d bytes %q (body given away: %v): %v", size, c, owned, err)
				}
				if !reflect.DeepEqual(*got, want) {
					t.Fatalf("values of %d bytes %q (body given away: %v): decoded differently from encoding/json", size, c, owned)
				}
			}
		}
	}
}

func TestFastDecodeKeepsNoStringInABodyItDoesNotOwn(t *testing.T) {
	body := escapedDirectoryBody(50, 300, 30, 'a')
	want, err := unmarshalResponse(slices.Clone(body), false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := unmarshalResponse(body, false)
	if err != nil {
		t.Fatal(err)
	}
	clear(body) // as the pool's next user of the buffer would
	if !reflect.DeepEqual(got, want) {
		t.Fatal("a reply changed when the body it was decoded from was written again")
	}
}

func BenchmarkDecodeEscapedDirectory(b *testing.B) {
	body := escapedDirectoryBody(1000, 256, 0, 0)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unmarshalResponse(body, false); err != nil {
			b.Fatal(err)
		}
	}
}
