package client

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// freePeerURL returns an http URL on a loopback port that was free a moment
// ago, for a member that will never start.
func freePeerURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

func TestMembersAPIListsAddsUpdatesAndRemovesMembers(t *testing.T) {
	// Without the strict check, a member can be added before the others
	// have been connected for five seconds, which saves the test the wait.
	c := newV2Cluster(t, 3, etcdtest.WithFlags("--strict-reconfig-check=false"))
	ctx := testCtx(t)
	cl, rec := newClient(t, c.ClientURLs(), Config{})
	m := NewMembersAPI(cl)

	list, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names, clientURLs []string
	for _, mem := range list {
		names = append(names, mem.Name)
		clientURLs = append(clientURLs, mem.ClientURLs...)
	}
	slices.Sort(names)
	slices.Sort(clientURLs)
	wantURLs := slices.Sorted(slices.Values(c.ClientURLs()))
	if !slices.Equal(names, []string{"m0", "m1", "m2"}) || !slices.Equal(clientURLs, wantURLs) {
		t.Fatalf("List: names %v client URLs %v, want m0..m2 on %v", names, clientURLs, wantURLs)
	}

	leader, err := m.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if leader.ID != strconv.FormatUint(want.ID(), 16) || leader.Name != want.Name() {
		t.Fatalf("Leader: %+v, want %s (%x)", leader, want.Name(), want.ID())
	}

	// A fourth member that never starts: three of four still make a quorum.
	peer := freePeerURL(t)
	added, err := m.Add(ctx, peer)
	if err != nil {
		t.Fatal(err)
	}
	if added.ID == "" || !slices.Equal(added.PeerURLs, []string{peer}) {
		t.Fatalf("Add: %+v, want an ID and peer URL %s", added, peer)
	}
	if _, err := m.Add(ctx, peer); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("adding the same peer URL again: %v, want a conflict", err)
	}

	moved := freePeerURL(t)
	if err := m.Update(ctx, added.ID, []string{moved}); err != nil {
		t.Fatal(err)
	}
	list, err = m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(x Member) bool { return x.ID == added.ID })
	if len(list) != 4 || i < 0 || !slices.Equal(list[i].PeerURLs, []string{moved}) {
		t.Fatalf("after Update, List: %+v; want 4 members, %s on %s", list, added.ID, moved)
	}

	if err := m.Remove(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	if list, err = m.List(ctx); err != nil || len(list) != 3 {
		t.Fatalf("after Remove, List: %+v, %v; want 3 members", list, err)
	}
	// etcd answers 410 Gone for a member removed already: done, as the
	// official client counts it.
	if err := m.Remove(ctx, added.ID); err != nil {
		t.Fatalf("removing the removed member again: %v; want nil, as the official client returns for 410 Gone", err)
	}
	// Other statuses give the official client's errors: Remove does not
	// expect 404 and drops the server's message; Update expects it and
	// returns the message.
	if err := m.Remove(ctx, "123abc"); err == nil || err.Error() != "unexpected status code 404" {
		t.Fatalf("removing an unknown member: %v; want the official \"unexpected status code 404\"", err)
	}
	if err := m.Update(ctx, "123abc", []string{freePeerURL(t)}); err == nil || err.Error() != "No such member: 123abc" {
		t.Fatalf("updating an unknown member: %v; want the server's \"No such member: 123abc\", as the official client returns", err)
	}
	n := len(rec.sent())
	if err := m.Remove(ctx, "../keys/x"); err == nil {
		t.Fatal("removing a member whose ID holds a path succeeded, want an error")
	}
	if len(rec.sent()) != n {
		t.Fatal("a member ID holding a path was sent to the server")
	}
	// Malformed peer URLs are refused before anything is sent, with the
	// official client's messages.
	if _, err := m.Add(ctx, "127.0.0.1:2380"); err == nil {
		t.Error("Add of a URL without a scheme succeeded, want an error")
	}
	if err := m.Update(ctx, added.ID, []string{"http://h:1/p"}); err == nil || err.Error() != "URL must not contain a path: http://h:1/p" {
		t.Errorf("Update with a path: err = %v, want \"URL must not contain a path: http://h:1/p\"", err)
	}
	if err := m.Update(ctx, added.ID, nil); err == nil || err.Error() != "no valid URLs given" {
		t.Errorf("Update with no URLs: err = %v, want \"no valid URLs given\"", err)
	}
	if len(rec.sent()) != n {
		t.Error("a malformed peer URL was sent to the server")
	}
}
