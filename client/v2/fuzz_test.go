package client

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/version"
)

// checkDecodeError fails t unless err is one of the errors decoding a keys
// reply may return for a bad reply.
func checkDecodeError(t *testing.T, err error) {
	var e Error
	var ne *strconv.NumError
	if err != ErrInvalidJSON && err != ErrEmptyBody && !errors.As(err, &e) && !errors.As(err, &ne) {
		t.Fatalf("decoding returned %v (%T), want ErrInvalidJSON, ErrEmptyBody, an Error or the index's parse error", err, err)
	}
}

func addDecodeSeeds(f *testing.F) {
	for _, body := range []string{
		`{"action":"set","node":{"key":"/a","value":"b","modifiedIndex":4,"createdIndex":4}}`,
		`{"action":"get","node":{"key":"/d","dir":true,"nodes":[{"key":"/d/x","value":"1","expiration":"2026-01-01T00:00:00Z","ttl":5}]}}`,
		`{"errorCode":100,"message":"Key not found","cause":"/a","index":4}`,
		`{"members":[{"id":"1","name":"m","peerURLs":["http://x"],"clientURLs":[]}]}`,
		`{"message":"auth: User x does not exist."}`,
		`{"action":1}`, `{"node":"x","action":"get"}`, `{"errorCode":"100"}`, `{"node":{"ttl":1e400}}`,
		`{"action":"get","node":{"expiration":"yesterday"}}`, `{"action":"get","node":{"modifiedIndex":-1}}`,
		``, `null`, `[]`, `{`, `<html>404</html>`, "\x00\xff",
	} {
		for _, status := range []int{200, 201, 204, 400, 404, 412, 500} {
			f.Add(status, []byte(body), "12")
		}
	}
	for _, huge := range []string{
		strings.Repeat("[", 100000),
		`"` + strings.Repeat("x", 1<<20) + `"`,
		`{"action":"get","node":{"key":"` + strings.Repeat("k", 1<<20) + `"}}`,
		`{"errorCode":100,"message":"` + strings.Repeat("m", 1<<20) + `"}`,
	} {
		f.Add(200, []byte(huge), "12")
		f.Add(404, []byte(huge), "12")
	}
	f.Add(200, []byte(`{"action":"get"}`), "not-a-number")
}

func FuzzDecodeKeysReply(f *testing.F) {
	addDecodeSeeds(f)
	f.Fuzz(func(t *testing.T, status int, body []byte, index string) {
		rep := &reply{status: status, header: http.Header{"X-Etcd-Index": {index}}, body: body}
		resp, err := decodeKeysReply(rep)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if resp == nil {
			t.Fatal("decoding returned neither a response nor an error")
		}
	})
}

// FuzzDecodeServerReplies feeds the members, auth and version decoders
// whatever a server might send: none may panic, and each returns either
// its result or an error.
func FuzzDecodeServerReplies(f *testing.F) {
	addDecodeSeeds(f)
	f.Fuzz(func(t *testing.T, status int, body []byte, _ string) {
		var members []Member
		if membersListReply(&members)(status, body) == nil && members == nil {
			t.Fatal("a member list decoded without error is nil, want a list")
		}
		var m Member
		membersLeaderReply(&m)(status, body)
		var u User
		userReply(&u)(status, body)
		var r Role
		roleReply(&r)(status, body)
		authDone(status, body)
		var v version.Versions
		versionReply(&v)(status, body)
	})
}
