package clientv3_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

func memberByID(t testing.TB, clus *etcdtest.Cluster, id uint64) *etcdtest.Member {
	t.Helper()
	for _, m := range clus.Members() {
		if m.ID() == id {
			return m
		}
	}
	t.Fatalf("no member has ID %x", id)
	return nil
}

func otherEndpoints(clus *etcdtest.Cluster, not *etcdtest.Member) []string {
	var eps []string
	for _, m := range clus.Members() {
		if m != not {
			eps = append(eps, m.Endpoint())
		}
	}
	return eps
}

// faultPlan says how watchThroughFault breaks the member serving a watch.
type faultPlan struct {
	// writers returns the endpoints the writer uses, given the member that
	// serves the watch; nil means every member.
	writers func(serving *etcdtest.Member) []string
	// fault runs once a third of the events have arrived, heal (if set)
	// once two thirds have; both get the member serving the watch when
	// the fault struck.
	fault, heal func(m *etcdtest.Member)
}

// watchThroughFault watches a prefix while a writer creates n keys under
// it one at a time, and breaks the member serving the watch along the way.
// Two more watches of the prefix, which share the first's server watch,
// go through the fault too. It fails t unless every watch delivered every
// write exactly once, in order, and returns the member it broke.
func watchThroughFault(t *testing.T, clus *etcdtest.Cluster, plan faultPlan) *etcdtest.Member {
	const n = 60
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prefix := keyPrefix(t) + "/"
	watchCli := newClientAt(t, clus.Endpoints())
	wch := watchCli.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	created := next(t, wch)
	serving := memberByID(t, clus, created.Header.MemberId)
	sharing := []clientv3.WatchChan{watchCli.Watch(ctx, prefix, clientv3.WithPrefix()), watchCli.Watch(ctx, prefix, clientv3.WithPrefix())}
	writerEps := clus.Endpoints()
	if plan.writers != nil {
		writerEps = plan.writers(serving)
	}
	writeCli := newClientAt(t, writerEps)

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			if !createOnce(ctx, writeCli, fmt.Sprintf("%s%03d", prefix, i), "v") {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	var evs []*clientv3.Event
	var broken *etcdtest.Member
	heal := plan.heal
	servedBy := map[uint64]bool{}
	for len(evs) < n {
		var wr clientv3.WatchResponse
		select {
		case r, ok := <-wch:
			if !ok {
				t.Fatalf("watch channel closed after %d events", len(evs))
			}
			wr = r
		case <-ctx.Done():
			t.Fatalf("got %d events; want %d", len(evs), n)
		}
		if err := wr.Err(); err != nil {
			t.Fatalf("watch error after %d events: %v", len(evs), err)
		}
		if len(wr.Events) == 0 {
			continue
		}
		servedBy[wr.Header.MemberId] = true
		evs = append(evs, wr.Events...)
		if broken == nil && len(evs) >= n/3 {
			broken = memberByID(t, clus, wr.Header.MemberId)
			plan.fault(broken)
		} else if broken != nil && heal != nil && len(evs) >= 2*n/3 {
			heal(broken)
			heal = nil
		}
	}
	checkCreatedInOrder(t, "the first watch", evs, prefix, n)
	for i, wch := range sharing {
		checkCreatedInOrder(t, fmt.Sprintf("sharing watch %d", i+1), nextEvents(t, wch, n), prefix, n)
	}
	cancel()
	t.Logf("watch served by %d member(s) across the fault", len(servedBy))
	return broken
}

// checkCreatedInOrder fails t unless evs are the creations of the n keys
// prefix000... in order, at consecutive revisions.
func checkCreatedInOrder(t *testing.T, who string, evs []*clientv3.Event, prefix string, n int) {
	t.Helper()
	if len(evs) != n {
		t.Fatalf("%s got %d events; want %d", who, len(evs), n)
	}
	for i, ev := range evs {
		if want := fmt.Sprintf("%s%03d", prefix, i); string(ev.Kv.Key) != want {
			t.Fatalf("%s: event %d is %q; want %q (events lost, repeated or reordered)", who, i, ev.Kv.Key, want)
		}
		if i > 0 && ev.Kv.ModRevision != evs[i-1].Kv.ModRevision+1 {
			t.Fatalf("%s: event %d at revision %d after %d; want consecutive revisions", who, i, ev.Kv.ModRevision, evs[i-1].Kv.ModRevision)
		}
	}
}

func TestWatchResumesWithoutGapOrDuplicateWhenItsMemberIsKilled(t *testing.T) {
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	watchThroughFault(t, clus, faultPlan{
		fault: func(m *etcdtest.Member) {
			if err := m.Kill(); err != nil {
				t.Errorf("kill: %v", err)
			}
		},
		heal: func(m *etcdtest.Member) {
			if err := m.Restart(); err != nil {
				t.Errorf("restart: %v", err)
			}
		},
	})
}

func TestWatchResumesWithoutGapOrDuplicateWhenConnectionsDrop(t *testing.T) {
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	watchThroughFault(t, clus, faultPlan{
		fault: func(m *etcdtest.Member) { m.DropConnections() },
		heal:  func(m *etcdtest.Member) { m.DropConnections() },
	})
}

// A member cut off from its peers has no leader and serves no new events.
// The watch must leave it for a member that has one, unless its caller
// asked for WithRequireLeader, in which case it ends with ErrNoLeader.
func TestWatchLeavesAMemberThatLostItsLeader(t *testing.T) {
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	ctx := ctxT(t)
	var rlw clientv3.WatchChan
	broken := watchThroughFault(t, clus, faultPlan{
		// Writes go to the members that keep a leader; on the way, a
		// require-leader watch is pinned to the member about to be cut off.
		writers: func(serving *etcdtest.Member) []string {
			pinned := newClientAt(t, []string{serving.Endpoint()})
			rlw = pinned.Watch(clientv3.WithRequireLeader(ctx), keyPrefix(t)+"/", clientv3.WithPrefix())
			return otherEndpoints(clus, serving)
		},
		fault: func(m *etcdtest.Member) { m.Isolate() },
	})
	defer broken.Heal()

	// The pinned watch ends with ErrNoLeader (after any events it got
	// before its member gave up on the leader).
	timeout := time.After(waitTimeout)
	for {
		select {
		case r, ok := <-rlw:
			if !ok {
				t.Fatal("require-leader watch closed without an error response")
			}
			if err := r.Err(); err != nil {
				if err != rpctypes.ErrNoLeader && !errors.Is(err, rpctypes.ErrNoLeader) {
					t.Fatalf("require-leader watch ended with %v; want rpctypes.ErrNoLeader", err)
				}
				if !r.Canceled || r.Header == nil {
					t.Fatalf("final response %+v; want Canceled, with a header (empty, as the official client's)", r)
				}
				expectClosed(t, rlw)
				return
			}
		case <-timeout:
			t.Fatal("require-leader watch on the isolated member did not end")
		}
	}
}

// The official client re-creates a watch from "now" at the revision it was
// created at, so that after a broken stream it delivers the write made just
// before it; a watch from now reports only what came after it.
func TestAWatchFromNowResumesAfterTheRevisionItWasCreatedAt(t *testing.T) {
	clus := etcdtest.NewCluster(t)
	c := newClientOf(t, clus)
	k := keyPrefix(t)
	before := put(t, c, k, "before")
	wch := c.Watch(ctxT(t), k)
	clus.Members()[0].DropConnections()
	// A read, which the client retries, waits for a new connection; a put
	// sent on the dropped one would have an unknown outcome.
	if _, err := c.Get(ctxT(t), k); err != nil {
		t.Fatalf("Get after the connections dropped: %v", err)
	}
	after := put(t, c, k, "after")
	if ev := nextEvents(t, wch, 1)[0]; ev.Kv.ModRevision != after {
		t.Fatalf("after its stream broke the watch from now (made after revision %d) delivered revision %d first; want %d, the write after it", before, ev.Kv.ModRevision, after)
	}
}
