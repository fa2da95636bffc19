package client

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// readBody reads body as a reply of unknown length (as etcd sends large
// replies: chunked) or of known length.
func readBody(t *testing.T, body []byte, known bool) *reply {
	t.Helper()
	n := int64(-1)
	if known {
		n = int64(len(body))
	}
	r := newReply()
	if err := r.read(&http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: n}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.body, body) {
		t.Fatalf("read %d bytes, want the %d of the body", len(r.body), len(body))
	}
	return r
}

func TestALargeReplyIsReadIntoABufferOfItsOwnSizedFromTheLastLargeOne(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 3*maxPooledBody+12345)
	first := readBody(t, body, false)
	if !first.owned {
		t.Fatalf("a %d-byte body was read into the pool's buffer", len(body))
	}
	first.release()
	if first.owned || cap(first.body) > maxPooledBody {
		t.Fatalf("released reply kept a %d-byte buffer (owned %v); want the pool's", cap(first.body), first.owned)
	}
	second := readBody(t, body, false)
	defer second.release()
	if limit := len(body) + len(body)/16 + 1; !second.owned || cap(second.body) > limit {
		t.Errorf("the next body of the same size got a %d-byte buffer (owned %v); want one of at most %d, sized from the last", cap(second.body), second.owned, limit)
	}
}

func TestAReplyOfKnownLengthIsReadIntoABufferOfExactlyThatSize(t *testing.T) {
	body := bytes.Repeat([]byte("y"), 2*maxPooledBody)
	r := readBody(t, body, true)
	defer r.release()
	if !r.owned || cap(r.body) != len(body)+1 {
		t.Errorf("a body of known length %d got a %d-byte buffer (owned %v); want %d, owned", len(body), cap(r.body), r.owned, len(body)+1)
	}
	small := readBody(t, []byte(`{"action":"get"}`), true)
	defer small.release()
	if small.owned {
		t.Error("a small body was read into a buffer of its own; want the pool's")
	}
}

func TestABodyPastThePoolIsDecodedWithoutACopyAndTheResultKeepsItsValues(t *testing.T) {
	body := directoryBody(50000)
	r := readBody(t, body, false)
	if !r.owned {
		t.Fatalf("a %d-byte body was read into the pool's buffer; want one of its own", len(body))
	}
	resp, err := unmarshalResponse(r.body, r.owned)
	if err != nil {
		t.Fatal(err)
	}
	r.release()
	// The next reply must not reuse what the Response points into.
	other := readBody(t, bytes.Repeat([]byte("z"), len(body)), false)
	defer other.release()
	if got := resp.Node.Nodes[0].Value; got != string(bytes.Repeat([]byte("v"), 64)) {
		t.Fatalf("a decoded value changed after its reply was released: %q", got)
	}
}

// Against etcd: a recursive get of a directory sent chunked, with values
// etcd escapes, decodes whole, and again once the buffer is sized from the
// first reply; values read first stay intact after the second reply was
// read, whether into the pool's buffer the first one used (past 64 KiB) or,
// past the pool's limit, into one of its own.
func TestALargeEscapedDirectoryReadsWholeTwice(t *testing.T) {
	for _, tc := range []struct {
		name   string
		nodes  int
		repeat int
		owned  bool
	}{
		{name: "pooled", nodes: 300, repeat: 64},
		{name: "past the pool", nodes: 400, repeat: 1024, owned: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kapi := sharedKeys(t)
			ctx := testCtx(t)
			dir := keyDir(t)
			val := strings.Repeat("\x00\"\\é", tc.repeat)
			for i := range tc.nodes {
				if _, err := kapi.Set(ctx, fmt.Sprintf("%s/k%03d", dir, i), val+fmt.Sprint(i), nil); err != nil {
					t.Fatal(err)
				}
			}
			var first *Response
			for round := range 2 {
				resp, err := kapi.Get(ctx, dir, &GetOptions{Recursive: true, Sort: true})
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Node.Nodes) != tc.nodes {
					t.Fatalf("round %d: %d nodes, want %d", round, len(resp.Node.Nodes), tc.nodes)
				}
				for i, node := range resp.Node.Nodes {
					if want := val + fmt.Sprint(i); node.Value != want {
						t.Fatalf("round %d: node %d = %q, want %q", round, i, node.Value, want)
					}
				}
				if first == nil {
					first = resp
				}
			}
			if got := first.Node.Nodes[tc.nodes-1].Value; got != val+fmt.Sprint(tc.nodes-1) {
				t.Fatalf("a value of the first reply changed after the second: %q", got)
			}
			if hint := int(bodyHint(&http.Response{Request: &http.Request{URL: &url.URL{Path: "/v2/keys" + dir}}}).Load()); (hint > maxPooledBody) != tc.owned {
				t.Errorf("the reply was %d bytes; want it %s the pool's limit of %d", hint, map[bool]string{true: "past", false: "within"}[tc.owned], maxPooledBody)
			}
		})
	}
}
