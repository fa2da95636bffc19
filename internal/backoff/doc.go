// Package backoff computes how long to wait after failures: a doubling
// that stops at a ceiling, and the two ways of randomizing a wait that the
// clients use. It is the machinery behind every backoff of both clients;
// each caller keeps its own figures (which base, which ceiling) beside the
// decision they serve.
package backoff
