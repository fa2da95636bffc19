// Package wake tells goroutines waiting for something to change that it
// did: a fresh health verdict, an endpoint back up. Waiters select on a
// channel alongside their own context, so that a wait never outlives its
// caller's interest.
package wake
