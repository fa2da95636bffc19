package etcdtest

import (
	"context"
	"fmt"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// The fault scenarios that the clients' fault tests and bench -faults
// share: which member a fault strikes (a Role), what it does to the member
// and how it is undone (a Fault), and moving leadership (MoveLeader). What
// load runs meanwhile, and what it must see, is each harness's own.

// Role names the member a fault strikes by what it is to the cluster.
type Role int

const (
	// Follower is a member that does not lead.
	Follower Role = iota
	// Leader is the member that leads.
	Leader
)

func (r Role) String() string {
	if r == Leader {
		return "leader"
	}
	return "follower"
}

// MemberIn waits for a leader, then returns it for Leader, or the first
// member that does not lead for Follower.
func (c *Cluster) MemberIn(ctx context.Context, r Role) (*Member, error) {
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		return nil, err
	}
	if r == Leader {
		return leader, nil
	}
	for _, m := range c.members {
		if m != leader {
			return m, nil
		}
	}
	return nil, fmt.Errorf("etcdtest: a cluster of %d members has no follower", len(c.members))
}

// Fault is one single-member fault: what it does to a member, and how it is
// undone.
type Fault struct {
	Name  string // short, for test and scenario names: "kill", "stop", …
	Title string // what it does, for reports
	// Silent: the member stops answering its clients while it looks
	// alive (connections are accepted), rather than going away or being
	// cut off from its peers.
	Silent bool
	Strike func(*Member) error
	Heal   func(*Member) error
}

// The faults of one member, each undone by its Heal.
var (
	// Kill kills the member (SIGKILL); Heal restarts it on its data.
	Kill = Fault{Name: "kill", Title: "killed (SIGKILL), then restarted",
		Strike: (*Member).Kill, Heal: (*Member).Restart}
	// Stop stops the member (SIGSTOP); Heal continues it.
	Stop = Fault{Name: "stop", Title: "stopped (SIGSTOP), then continued", Silent: true,
		Strike: (*Member).Stop, Heal: (*Member).Resume}
	// Blackhole accepts the member's client connections and answers
	// nothing on them; Heal lets the traffic through again.
	Blackhole = Fault{Name: "blackhole", Title: "with its client traffic blackholed", Silent: true,
		Strike: func(m *Member) error { m.Blackhole(); return nil },
		Heal:   func(m *Member) error { m.Unblackhole(); return nil }}
	// Isolate cuts the member off from its peers; its clients still
	// reach it. Heal reconnects it.
	Isolate = Fault{Name: "isolate", Title: "cut off from its peers",
		Strike: func(m *Member) error { m.Isolate(); return nil },
		Heal:   func(m *Member) error { m.Heal(); return nil }}
)

// MoveLeader hands leadership from the current leader to the member to,
// through the leader's own client port (only the leader may hand it over),
// and returns once the leader has accepted.
func (c *Cluster) MoveLeader(ctx context.Context, to *Member) error {
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		return err
	}
	if leader == to {
		return nil
	}
	conn, err := leader.grpcConn()
	if err != nil {
		return err
	}
	if _, err := pb.NewMaintenanceClient(conn).MoveLeader(ctx, &pb.MoveLeaderRequest{TargetID: to.ID()}); err != nil {
		return fmt.Errorf("etcdtest: moving leadership from %s to %s: %w", leader.Name(), to.Name(), err)
	}
	return nil
}

// NextMember returns the member after m in the cluster's order, wrapping.
func (c *Cluster) NextMember(m *Member) *Member {
	return c.members[(slices.Index(c.members, m)+1)%len(c.members)]
}
