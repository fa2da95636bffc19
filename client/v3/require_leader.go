package clientv3

import (
	"context"

	"google.golang.org/grpc"
)

// The require-leader policy: which calls carry the hasleader metadata that
// makes a member without a leader refuse them at once (ErrNoLeader) instead
// of holding them. Its users are token.go (which adds the metadata) and
// kv.go (which marks serializable reads).

type leaderOptionalKey struct{}

// withLeaderOptional marks ctx's calls as ones a member without a leader
// may serve (serializable reads): they do not carry require-leader.
func withLeaderOptional(ctx context.Context) context.Context {
	return context.WithValue(ctx, leaderOptionalKey{}, true)
}

// leaderFreeMethods are served by a member from its own state; the
// official client lets a leaderless member answer them, and so do we. A
// watch delivers its member's own history: a watch stream without the
// caller's WithRequireLeader stays open on a member without a leader, as
// the official client's does, and the client moves it to a member with
// one when there is one, on the probes' verdict (watch_stream.go).
var leaderFreeMethods = map[string]bool{
	"/etcdserverpb.Watch/Watch":            true,
	"/etcdserverpb.Cluster/MemberList":     true,
	"/etcdserverpb.Maintenance/Alarm":      true,
	"/etcdserverpb.Maintenance/Status":     true,
	"/etcdserverpb.Maintenance/Defragment": true,
	"/etcdserverpb.Maintenance/Hash":       true,
	"/etcdserverpb.Maintenance/HashKV":     true,
	"/etcdserverpb.Maintenance/Snapshot":   true,
	"/etcdserverpb.Maintenance/MoveLeader": true,
	"/etcdserverpb.Maintenance/Downgrade":  true,
}

// requiresLeader reports whether a call of method with ctx and opts gets
// the client's implicit require-leader metadata: calls made through this
// package's API (apiConn), unless a member serves them from its own state.
// A caller's own WithRequireLeader is in ctx's metadata, and goes out
// whatever this says.
func requiresLeader(ctx context.Context, method string, opts []grpc.CallOption) bool {
	if leaderFreeMethods[method] || !isAPICall(opts) {
		return false
	}
	b, _ := ctx.Value(leaderOptionalKey{}).(bool)
	return !b
}
