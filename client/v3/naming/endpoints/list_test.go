package endpoints_test

import (
	"context"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/naming/endpoints"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// TestListIsServedByAMemberCutOffFromItsPeers holds that List reads
// serializably, as the official manager does: a member that cannot reach
// the leader still answers with the endpoints it has.
func TestListIsServedByAMemberCutOffFromItsPeers(t *testing.T) {
	c := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	ctx := sharedcluster.Context(t)
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	follower := c.NextMember(leader)
	target := sharedcluster.Prefix(t) + "svc"
	writer := newManager(t, sharedcluster.ClientOf(t, []string{leader.Endpoint()}), target)
	if err := writer.AddEndpoint(ctx, target+"/a", endpoints.Endpoint{Addr: "a:1"}); err != nil {
		t.Fatal(err)
	}
	reader := newManager(t, sharedcluster.ClientOf(t, []string{follower.Endpoint()}), target)
	// Once the follower has applied the write, cut it off.
	for {
		got, err := reader.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the follower never applied the endpoint")
		case <-time.After(20 * time.Millisecond):
		}
	}
	follower.Isolate()
	defer follower.Heal()

	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	got, err := reader.List(lctx)
	if err != nil {
		t.Fatalf("List on a member cut off from its peers: %v; the official List reads serializably and gets the member's endpoints", err)
	}
	if got[target+"/a"].Addr != "a:1" {
		t.Errorf("List on a member cut off from its peers = %v, want a at a:1", got)
	}
}
