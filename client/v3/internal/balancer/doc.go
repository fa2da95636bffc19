// Package balancer is the client's endpoint layer: a gRPC resolver that
// publishes the client's endpoints, and a gRPC balancer whose picker
// chooses the member for every RPC and learns from every RPC's outcome.
//
// Whether a member is fit is decided in one type, Health, shared by all
// pickers of one client. It learns from the calls (a failure that speaks
// about the member avoids it for a backoff that grows with consecutive
// failures; a success ends it) and from probes that StartProber's loop
// sends while the client is in use (a lease renewal, which only a member
// following a live leader can give, stands in for its member's probe:
// Proved): a member that does not answer, has no leader, or
// lags behind the others' store revisions is declared down, and stays
// avoided until a probe finds it serving. Each verdict closes the member's
// down channel (Down), which streams and slow attempts wait on. The probes
// also tell which member leads.
//
// Health's files, one concern each: health.go (the records), verdict.go
// (what outcomes and probes say, and who is told), latency.go (the
// attempt bound), leader.go (which member leads), lag.go (revision lag),
// probe.go (the prober and when it runs), proof.go (answers that stand in
// for probes).
//
// The picker sends writes to the leader when it is fit, and spreads other
// calls round-robin over READY endpoints that are not avoided (over all
// READY endpoints when every one is). Per-RPC options travel in the
// context: WithPin (this endpoint only), WithAvoid (any other if possible),
// WithProbe (a probe: not observed, not counted as use).
//
// The picker also reports to the caller, through an Attempt carried in the
// RPC's context, which endpoint it chose and whether the request left the
// client. The retry layer uses that to retry writes only when they
// provably were not sent, and streams to know their member.
package balancer
