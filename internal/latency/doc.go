// Package latency learns how long a client's calls take: a moving
// average per endpoint, and a client-wide estimate of the usual worst
// case from which a client derives how long an attempt may run before it
// is suspected. Which calls are measured, and the floor and factor of the
// bound, are the client's policy.
package latency
