// Package health holds the record a client keeps of each of its
// endpoints: whether it is fit to serve (and if not, why), how often it
// came back, and how fast it answers. What makes an endpoint down or up
// again — which errors, which probe — is the client's policy; the record
// only keeps the verdicts, cheaply enough for every pick to read them.
package health
