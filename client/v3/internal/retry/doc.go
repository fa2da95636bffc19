// Package retry is the client's retry policy, as pure logic: which RPCs
// are idempotent, which failures may be retried, and how long to wait
// between attempts.
//
// The rule that keeps writes safe: an RPC that may change the store is
// retried only when the request provably never left the client. Reads are
// retried on any Unavailable failure, on another endpoint.
package retry
