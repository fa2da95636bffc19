package etcdtest

import (
	"testing"
	"time"
)

func TestMemberInNamesTheLeaderAndAFollowerAndMoveLeaderHandsItOver(t *testing.T) {
	c := NewCluster(t, WithSize(3))
	ctx := timeout(t, 20*time.Second)
	leader, err := c.MemberIn(ctx, Leader)
	if err != nil {
		t.Fatal(err)
	}
	follower, err := c.MemberIn(ctx, Follower)
	if err != nil {
		t.Fatal(err)
	}
	if follower == leader || leader != c.Leader() {
		t.Fatalf("MemberIn named %s the leader and %s a follower; the cluster's leader is %v", leader.Name(), follower.Name(), c.Leader())
	}
	if err := c.MoveLeader(ctx, follower); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the follower to lead", 10*time.Second, func() bool { return c.Leader() == follower })
	if next := c.NextMember(c.Members()[2]); next != c.Members()[0] {
		t.Errorf("NextMember of the last member is %s, want the first", next.Name())
	}
}

func TestEveryFaultIsUndoneByItsHeal(t *testing.T) {
	c := NewCluster(t, WithSize(3))
	for _, f := range []Fault{Kill, Stop, Blackhole, Isolate} {
		m := c.Members()[1]
		if err := f.Strike(m); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if err := f.Heal(m); err != nil {
			t.Fatalf("healing %s: %v", f.Name, err)
		}
		ctx := timeout(t, 15*time.Second)
		if err := put(ctx, dial(t, m.Endpoint(), nil), "after-"+f.Name, "v"); err != nil {
			t.Errorf("after %s and its heal, a write through the member failed: %v", f.Name, err)
		}
	}
}
