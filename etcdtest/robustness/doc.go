// Package robustness checks that an etcd client is never wrong under faults.
//
// A run drives a real etcd cluster (from package etcdtest) with many
// concurrent workers through a Client, while a nemesis injects a seeded random
// schedule of faults: members killed, frozen, isolated, blackholed, delayed,
// the leader killed or isolated, every member restarted in turn, and the
// history compacted under open watches. Every operation is recorded with its
// call and return time, its request and its result; then the history is
// checked:
//
//   - Linearizability, with porcupine, against a model of etcd's key space:
//     puts, linearizable gets, deletes, transactions comparing a key's value or
//     modification revision, and leases (keys deleted on revoke and, for leases
//     nobody keeps alive, on expiry). A write whose outcome the client could
//     not tell is indeterminate: it may or may not have been applied, at any
//     time after its call. Serializable gets are checked for monotonic
//     revisions and for values that some write produced.
//   - Watch guarantees, as etcd defines them: ordered, unique, atomic,
//     reliable, resumable, bookmarkable, and every event matching a write of
//     the history.
//   - Lock safety: concurrency.Mutex holders and Election leaders write
//     through a fence on their own revision; two holders never overlap.
//
// The Client interface is small so that any client can be put under test:
// this package adapts etcdkit's client/v3 (NewEtcdkitClient), and
// tools/robustness adapts the official client the same way to compare both
// under the same schedules.
package robustness
