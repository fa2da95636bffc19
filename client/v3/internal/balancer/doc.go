// Package balancer is the client's endpoint layer: a gRPC resolver that
// publishes the client's endpoints, and a gRPC balancer whose picker
// chooses the member for every RPC and learns from every RPC's outcome.
//
// Per-endpoint health lives in one type, Health, shared by all pickers of
// one client. A call that fails with Unavailable (connection loss, no
// leader, request timeout, ...) or times out marks its endpoint to be
// avoided for a backoff that grows with consecutive failures; a success
// clears it. The picker spreads calls round-robin over READY endpoints
// that are not avoided, and over all READY endpoints when every one is.
//
// The picker also reports to the caller, through an Attempt carried in the
// RPC's context, whether the request left the client. The retry layer
// uses that to retry writes only when they provably were not sent.
package balancer
