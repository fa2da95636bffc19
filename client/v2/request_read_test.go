package client

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
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

func TestAnOwnedBodyIsDecodedWithoutACopyAndTheResultKeepsItsValues(t *testing.T) {
	body := directoryBody(20000)
	r := readBody(t, body, false)
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

// Against etcd: a recursive get of a directory well past the pool's limit,
// sent chunked and with values etcd escapes, decodes whole, and again once
// the buffer is sized from the first reply; values read first stay intact.
func TestALargeEscapedDirectoryReadsWholeTwice(t *testing.T) {
	kapi := sharedKeys(t)
	ctx := testCtx(t)
	dir := keyDir(t)
	val := strings.Repeat("\x00\"\\é", 64)
	const n = 300
	for i := range n {
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
		if len(resp.Node.Nodes) != n {
			t.Fatalf("round %d: %d nodes, want %d", round, len(resp.Node.Nodes), n)
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
	if got := first.Node.Nodes[n-1].Value; got != val+fmt.Sprint(n-1) {
		t.Fatalf("a value of the first reply changed after the second: %q", got)
	}
}
