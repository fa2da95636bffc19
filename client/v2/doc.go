// Package client is a client for etcd's v2 HTTP API (the keys, members and
// auth APIs), with the same exported API and behaviour as
// go.etcd.io/etcd/client/v2 v2.305.35: a program switches to it by changing
// the import path. etcd serves the v2 API up to release 3.5, when started
// with --enable-v2.
//
// Exchange a Config for a Client, then build the APIs on it:
//
//	c, err := client.New(client.Config{
//		Endpoints:               []string{"http://127.0.0.1:2379"},
//		Transport:               client.DefaultTransport,
//		HeaderTimeoutPerRequest: time.Second,
//	})
//	if err != nil {
//		// handle error
//	}
//	kapi := client.NewKeysAPI(c)
//	resp, err := kapi.Set(ctx, "/foo", "bar", nil)
//
// A Client and the APIs built on it are safe for concurrent use.
//
// # Endpoints and failover
//
// A call goes to the preferred endpoint, and keeps going there while it is
// healthy. When an attempt fails (the member cannot be reached, its response
// headers come too late, or it answers with a 5xx status), the call moves on
// to another endpoint, and the one that works becomes the preferred one.
//
// Reads and watches are resent freely. A request that changes the cluster
// (every PUT, POST and DELETE: Set, Create, Update, CreateInOrder, Delete,
// and the members and auth changes) moves on only if it never left the
// client, because no connection could be made for it. Once it may have
// reached a member, that member may apply it even if its answer is lost, and
// sending it again could apply it twice: a second in-order key, a Create or a
// compare-and-swap reported as failed although it succeeded, or an older
// value written over a newer one. Such a call returns a *ClusterError at
// once (Create and Delete, which the official client sends once, return the
// attempt's own error, as it does), and the next call starts at the next
// endpoint.
//
// # Health and fault tolerance
//
// Beyond the official client, this one tells healthy members from members
// that are stopped (SIGSTOP), cut off by the network, cut off from their
// peers, or much slower than the others, and keeps reads and watches off
// them:
//
//   - While the client is in use, it probes the preferred endpoint with
//     GET /health every 250 ms, any endpoint that is unhealthy every 100 ms
//     (whether or not its earlier probes have returned, so that the first
//     probe after an election finds the new leader), and the other
//     endpoints every second, each probe with a 500 ms deadline. etcd answers healthy only when
//     the member has a leader and can commit through it, so a member that is
//     silent or isolated fails the probe. A failed real call marks its
//     endpoint unhealthy at once; only a passed probe makes it healthy
//     again. Calls avoid unhealthy endpoints; when all look unhealthy, all
//     are tried, and a plain (non-quorum) read may then be served by a
//     member without a leader, which may be stale: the client prefers an
//     answer to none, and Quorum reads stay linearizable whatever happens.
//     The probing goroutine ends by itself within two seconds of the last
//     call's return, so an idle Client holds no goroutine. A probe is a
//     quorum read, so a raft entry: a client in use costs a healthy
//     3-member cluster about six of them a second. The preferred endpoint also moves when its probes take more than
//     twice as long as another healthy member's, plus 50 ms.
//   - Every read attempt has a deadline for its response headers:
//     HeaderTimeoutPerRequest when set, otherwise the larger of one second
//     and four times the 99th percentile of the client's recent reads, doubled
//     for each further attempt of the same call that hits it. A read in
//     flight also moves as soon as the probe finds its member unhealthy.
//     A silent member therefore holds up a read for 0.5 to 0.85 s (the
//     probe's deadline, plus at most one probe interval and one 100 ms
//     check), and never longer than the read's deadline.
//   - A watch (a long poll, which has no deadline) moves as soon as the probe
//     finds its member unhealthy, and resumes on another member from the
//     index it had reached: no event is lost or delivered twice.
//   - When a read or watch failed everywhere while the cluster is alive but
//     cannot serve (during an election, say), it waits up to three seconds
//     for a member to pass a probe again, then resends, instead of failing
//     at once. A member that answered 5xx counts as such only if it then
//     fails a probe (sent at once): one that passes it would answer the same
//     again, and the call fails as soon as the official client's would.
//   - A watch from now (AfterIndex 0) whose long poll a fault dropped before
//     any event (its member failed, or every member did and Next returned
//     a *ClusterError) resumes from where the poll started, where the
//     official client would start again from the new now and miss what
//     happened in between; if that index has left etcd's history, it
//     watches from now. A Next that ended with its context starts again
//     from now, as the official client's does.
//   - A read answered with an index below the highest one the client has
//     already received comes from a member that lags (isolated, or
//     restarting): the read moves on, so that a client never reads older
//     data than it has already read or written. Only if no member has caught
//     up does it return the freshest answer it got.
//   - Writes are never cut short by the client unless
//     HeaderTimeoutPerRequest is set, because a write that may have left
//     cannot be resent: bound them with the context.
//
// Measured on 3-member etcd 3.5 clusters, with -race, a client preferring
// the faulty member and running plain and quorum reads and a watch (the
// TestFault tests of this package): no read failed and no event was lost or
// repeated. The longest read stall was 0.6-0.75 s for a stopped or
// blackholed member; for an isolated one, 0.6-0.8 s for quorum reads and
// 0.1 s for plain reads; 0.2 s for a killed follower; for a killed leader,
// 0.2 s for plain reads and, for quorum reads, the election that follows
// (1.8-2.6 s); up to 1 s for a leadership transfer, and 1.5 s for a rolling
// restart of every member.
//
// # Limits
//
// Until the probe marks an isolated member unhealthy (within about 0.75 s of
// the isolation), it may serve stale data to plain reads of clients that
// have not yet seen newer data; use GetOptions.Quorum for reads that must be
// current.
package client
