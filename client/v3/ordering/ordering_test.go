package ordering_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/ordering"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// TestOrderingKVCatchesAStaleMember isolates one member of three so that
// it falls behind, then makes the ordering KV read from it after it has
// seen a newer revision elsewhere.
func TestOrderingKVCatchesAStaleMember(t *testing.T) {
	c := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	ctx := sharedcluster.Context(t)
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The member to isolate must be a follower, or isolating it would
	// stall writes until a new leader is elected.
	var staleMember *etcdtest.Member
	for _, mb := range c.Members() {
		if mb != leader {
			staleMember = mb
		}
	}
	fresh, stale := leader.Endpoint(), staleMember.Endpoint()
	writer := sharedcluster.ClientOf(t, []string{fresh})
	if _, err := writer.Put(ctx, "k", "before"); err != nil {
		t.Fatal(err)
	}
	reader := sharedcluster.ClientOf(t, []string{stale})
	// Make sure the member to be isolated has applied the first write.
	if err := waitFor(ctx, func() bool {
		r, err := reader.Get(ctx, "k", clientv3.WithSerializable())
		return err == nil && len(r.Kvs) == 1
	}); err != nil {
		t.Fatal(err)
	}

	staleMember.Isolate()
	defer staleMember.Heal()
	w, err := writer.Put(ctx, "k", "after")
	if err != nil {
		t.Fatal(err)
	}

	errStale := errors.New("stale read")
	var violations []int64
	vf := func(op clientv3.Op, resp clientv3.OpResponse, prevRev int64) error {
		violations = append(violations, prevRev)
		return errStale
	}
	// One wrapper that first reads from the fresh member, then from the
	// stale one.
	shared := ordering.NewKV(&switchingKV{first: writer.KV, then: reader.KV}, vf)
	if _, err := shared.Get(ctx, "k", clientv3.WithSerializable()); err != nil {
		t.Fatalf("first read (fresh member): %v", err)
	}
	_, err = shared.Get(ctx, "k", clientv3.WithSerializable())
	if !errors.Is(err, errStale) {
		t.Fatalf("read from the stale member: error %v, want the violation function's error", err)
	}
	if len(violations) != 1 || violations[0] < w.Header.Revision {
		t.Errorf("violation function saw prevRev %v, want one call with at least %d", violations, w.Header.Revision)
	}
	_, err = shared.Txn(ctx).Then(clientv3.OpGet("k", clientv3.WithSerializable())).Commit()
	if !errors.Is(err, errStale) {
		t.Errorf("read-only txn on the stale member: error %v, want the violation error", err)
	}
	if _, err := shared.Do(ctx, clientv3.OpGet("k", clientv3.WithSerializable())); err != nil {
		t.Errorf("Do(OpGet) on the stale member: %v; the official wrapper passes Do through unchecked", err)
	}
	if len(violations) != 2 {
		t.Errorf("violation function called %d times after a Get, a Txn and a Do on the stale member; the official wrapper calls it for the Get and the Txn only", len(violations))
	}

	// With the switching closure and only the stale member to ask, the
	// read is issued again a few times and then given up.
	gaveUp := ordering.NewKV(&switchingKV{first: writer.KV, then: reader.KV},
		ordering.NewOrderViolationSwitchEndpointClosure(reader))
	if _, err := gaveUp.Get(ctx, "k", clientv3.WithSerializable()); err != nil {
		t.Fatal(err)
	}
	if _, err := gaveUp.Get(ctx, "k", clientv3.WithSerializable()); !errors.Is(err, ordering.ErrNoGreaterRev) {
		t.Errorf("stale-only read with the switching closure: error %v, want ErrNoGreaterRev", err)
	}

	// Once the member catches up, reads through it pass again.
	staleMember.Heal()
	if err := waitFor(ctx, func() bool {
		_, err := shared.Get(ctx, "k", clientv3.WithSerializable())
		return err == nil
	}); err != nil {
		t.Errorf("reads after the member caught up: %v", err)
	}
}

// switchingKV sends the first request to one KV and all later ones to
// another: the simplest way to make one ordering wrapper talk to a fresh
// member and then to a stale one.
type switchingKV struct {
	first, then clientv3.KV
	used        bool
}

func (s *switchingKV) pick() clientv3.KV {
	if !s.used {
		s.used = true
		return s.first
	}
	return s.then
}

func (s *switchingKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	return s.pick().Get(ctx, key, opts...)
}
func (s *switchingKV) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	return s.pick().Put(ctx, key, val, opts...)
}
func (s *switchingKV) GetStream(ctx context.Context, key string, opts ...clientv3.OpOption) (clientv3.GetStreamChan, error) {
	return s.pick().GetStream(ctx, key, opts...)
}
func (s *switchingKV) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	return s.pick().Delete(ctx, key, opts...)
}
func (s *switchingKV) Compact(ctx context.Context, rev int64, opts ...clientv3.CompactOption) (*clientv3.CompactResponse, error) {
	return s.pick().Compact(ctx, rev, opts...)
}
func (s *switchingKV) Do(ctx context.Context, op clientv3.Op) (clientv3.OpResponse, error) {
	return s.pick().Do(ctx, op)
}
func (s *switchingKV) Txn(ctx context.Context) clientv3.Txn { return s.pick().Txn(ctx) }

func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
