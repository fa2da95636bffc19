// Package attemptclock runs the checks of a client's attempts in flight on
// one timer, so that an attempt that ends before its first check (almost
// every attempt) costs two short critical sections and no timer of its
// own, and an idle client holds neither a timer nor a goroutine. What a
// check does (cut the attempt short, start a hedge) is the client's policy;
// this package only says when.
package attemptclock
