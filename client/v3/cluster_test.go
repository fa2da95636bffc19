package clientv3_test

import (
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

func TestMemberListListsEveryMember(t *testing.T) {
	cli := newClient(t)
	for _, opts := range [][]clientv3.OpOption{nil, {clientv3.WithSerializable()}} {
		resp, err := cli.MemberList(ctxT(t), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Members) != 3 {
			t.Fatalf("MemberList(%d opts) = %d members, want 3", len(opts), len(resp.Members))
		}
		want := map[uint64]bool{}
		for _, m := range shared.Members() {
			want[m.ID()] = true
		}
		for _, m := range resp.Members {
			if !want[m.ID] {
				t.Errorf("unexpected member %x", m.ID)
			}
		}
	}
}

func TestLearnerIsAddedUpdatedNotPromotedBeforeSyncAndRemoved(t *testing.T) {
	c := startCluster(t, 1)
	cli := newClientOf(t, c)
	ctx := ctxT(t)
	add, err := cli.MemberAddAsLearner(ctx, []string{"http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("MemberAddAsLearner: %v", err)
	}
	if !add.Member.IsLearner {
		t.Fatalf("added member IsLearner = false")
	}
	id := add.Member.ID
	if _, err := cli.MemberUpdate(ctx, id, []string{"http://127.0.0.1:2"}); err != nil {
		t.Fatalf("MemberUpdate: %v", err)
	}
	list, err := cli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range list.Members {
		if m.ID == id {
			found = true
			if !m.IsLearner || len(m.PeerURLs) != 1 || m.PeerURLs[0] != "http://127.0.0.1:2" {
				t.Errorf("learner = %v, want learner with peer URL http://127.0.0.1:2", m)
			}
		}
	}
	if !found {
		t.Fatalf("learner %x not in MemberList", id)
	}
	// As the official client does, surrounding spaces are ignored and a
	// unix socket needs no port.
	if _, err := cli.MemberUpdate(ctx, id, []string{" http://127.0.0.1:3 ", "unix:///tmp/etcdkit-no-such.sock"}); err != nil {
		t.Errorf("MemberUpdate with a spaced URL and a unix socket: %v (the official client sends them)", err)
	}
	// The learner never started, so it cannot be in sync.
	if _, err := cli.MemberPromote(ctx, id); err != rpctypes.ErrMemberLearnerNotReady {
		t.Errorf("MemberPromote of an unstarted learner: err = %v, want ErrMemberLearnerNotReady", err)
	}
	if _, err := cli.MemberRemove(ctx, id); err != nil {
		t.Fatalf("MemberRemove: %v", err)
	}
	if _, err := cli.MemberRemove(ctx, id); err != rpctypes.ErrMemberNotFound {
		t.Errorf("MemberRemove twice: err = %v, want ErrMemberNotFound", err)
	}
}

func TestMemberAddRejectsMalformedPeerURLsBeforeSending(t *testing.T) {
	cli := newClient(t)
	for _, urls := range [][]string{nil, {"127.0.0.1:2380"}, {"ftp://h:1"}, {"http://h"}, {"http://h:1/p"}, {"http://h:1/"}} {
		if _, err := cli.MemberAdd(ctxT(t), urls); err == nil {
			t.Errorf("MemberAdd(%v) succeeded", urls)
		}
	}
}
