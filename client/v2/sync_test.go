package client

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestAutoSyncSyncsBeforeItsFirstInterval(t *testing.T) {
	cl, _ := newClient(t, shared.ClientURLs()[:1], Config{})
	ctx, cancel := context.WithTimeout(testCtx(t), time.Second)
	defer cancel()
	if err := cl.AutoSync(ctx, time.Hour); err != context.DeadlineExceeded {
		t.Fatalf("AutoSync: %v, want context.DeadlineExceeded itself", err)
	}
	if got := cl.Endpoints(); len(got) != 3 {
		t.Fatalf("after AutoSync with an interval of an hour, endpoints %v; want the 3 members', as the official AutoSync syncs at once", got)
	}
}

func TestSyncWithAnUnknownSelectionModeFails(t *testing.T) {
	cl, _ := newClient(t, shared.ClientURLs(), Config{SelectionMode: 7})
	if err := cl.Sync(testCtx(t)); err == nil || err.Error() != "invalid endpoint selection mode: 7" {
		t.Fatalf("Sync: %v, want the official \"invalid endpoint selection mode: 7\"", err)
	}
}

func TestPrioritizeLeaderSyncWithoutALeaderReturnsErrNoLeaderEndpoint(t *testing.T) {
	c := newV2Cluster(t, 3)
	ctx := testCtx(t)
	for _, m := range c.Members()[1:] {
		if err := m.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	// Until its election timeout the survivor still names the old leader.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, _ := getOnce(t, c.ClientURLs()[0]+"/v2/members/leader")
		if status == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the surviving member still answers %d for the leader", status)
		}
	}
	cl, _ := newClient(t, c.ClientURLs()[:1], Config{SelectionMode: EndpointSelectionPrioritizeLeader})
	before := cl.Endpoints()
	// The member lists the members but knows no leader (503). The call
	// may wait for an election, up to recoveryWait, but none comes.
	if err := cl.Sync(ctx); err != ErrNoLeaderEndpoint {
		t.Fatalf("Sync without a leader: %v; want ErrNoLeaderEndpoint itself, as the official client returns", err)
	}
	if got := cl.Endpoints(); len(got) != len(before) || got[0] != before[0] {
		t.Fatalf("a failed Sync changed the endpoints from %v to %v", before, got)
	}
}
