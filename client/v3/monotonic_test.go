package clientv3_test

import (
	"fmt"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// A serializable read may be answered from a member's own state, but never
// from a state older than one the client has already shown its caller: a
// member cut off from the others, asked after a write, is skipped for one
// that has the write (the official client returns the stale answer).
func TestSerializableReadsOfOneClientNeverGoBackInTime(t *testing.T) {
	clus := startCluster(t, 3)
	victim := aFollower(t, clus)
	k := keyPrefix(t)
	ctx := ctxT(t)
	// The victim first, so that its connection is up before the others'.
	cli := newClientAt(t, append([]string{victim.Endpoint()}, otherEndpoints(clus, victim)...))
	if _, err := cli.Put(ctx, k, "0"); err != nil {
		t.Fatal(err)
	}
	victim.Isolate()
	defer victim.Heal()
	for i := 1; i <= 30; i++ {
		put, err := cli.Put(ctx, k, fmt.Sprint(i))
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		for j := 0; j < 3; j++ {
			get, err := cli.Get(ctx, k, clientv3.WithSerializable())
			if err != nil {
				t.Fatalf("serializable get after put %d: %v", i, err)
			}
			if get.Header.Revision < put.Header.Revision || len(get.Kvs) != 1 || get.Kvs[0].ModRevision != put.Header.Revision {
				t.Fatalf("serializable get after put %d (revision %d) answered at revision %d with %v; want that write", i, put.Header.Revision, get.Header.Revision, get.Kvs)
			}
		}
	}
}
