// Package prober runs a client's health probes while the client is in
// use, and only then: an idle client sends no probe and holds no
// goroutine, and one that is never closed (the v2 client has no Close)
// leaves nothing running once idle. What a probe is, which endpoints are
// due and what a verdict changes is the client's policy, given as a
// StepFunc.
package prober
