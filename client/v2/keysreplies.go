package client

import (
	"net/http"
	"strconv"
)

// keysReplies is what the failover engine needs of the keys API's replies:
// the store index each shows (X-Etcd-Index). Every keys request carries it.
type keysReplies struct{}

func (keysReplies) index(rep *reply) (uint64, bool) { return etcdIndex(rep.header) }

// etcdIndex returns the X-Etcd-Index of a keys API reply: the member's
// store index when it answered.
func etcdIndex(h http.Header) (uint64, bool) {
	v := h["X-Etcd-Index"]
	if len(v) == 0 {
		return 0, false
	}
	idx, err := strconv.ParseUint(v[0], 10, 64)
	return idx, err == nil
}
