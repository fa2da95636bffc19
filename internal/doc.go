// Package internal is the root of the shared kernel: the fault-handling
// machinery both clients use and neither owns (the attempt clock, backoff,
// the wake-up broadcast). Each package holds mechanism only; what it is
// used for, and with which figures, is decided by the client that uses it.
//
// The kernel imports nothing but the standard library, so that client/v3
// still stands alone with it: tools/etcdsuite transplants client/v3 and the
// kernel together in place of the official client.
package internal
