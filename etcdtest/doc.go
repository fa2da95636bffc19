// Package etcdtest runs real etcd clusters for tests, with fault injection.
//
// A Cluster is made of real etcd server processes (v3.5, v3.6 or v3.7), each
// listening on loopback ports. Every member's client and peer traffic passes
// through a TCP proxy owned by this package, which is how faults are injected
// without privileges: a member can be killed, stopped (SIGSTOP), restarted on
// its data dir, isolated from its peers, or made a grey failure whose client
// connections are accepted but never answered. A member can also be reached
// through a unix socket (Member.UnixEndpoint) that the same proxy serves.
//
// In tests, use NewCluster: it fails the test on error, prints the members'
// logs when the test fails, and stops every process when the test ends.
// Elsewhere (benchmarks, examples), use Start and Close.
//
// Binaries come from the environment variables ETCDKIT_ETCD_3_5,
// ETCDKIT_ETCD_3_6 and ETCDKIT_ETCD_3_7 when set; otherwise the pinned server
// of tools/etcdserver is built once with the go command into the user cache
// directory, under a file lock so that test packages running in parallel
// build it only once.
//
// No process outlives its test: each member runs in its own process group,
// is killed on Close (and so on t.Cleanup), and is started with a parent-death
// signal so that it dies with the test binary even when that binary is killed.
// The package works on Linux; Isolate needs /proc to tell which member opened a
// peer connection.
package etcdtest
