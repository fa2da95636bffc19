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
// A call goes to the preferred endpoint, and keeps going there while it
// works. When an attempt fails (the member cannot be reached, its response
// headers take longer than Config.HeaderTimeoutPerRequest, or it answers with
// a 5xx status), the call moves on to the next endpoint in turn, and the one
// that works becomes the preferred one.
//
// Reads and watches are resent freely. A request that changes the cluster
// (every PUT, POST and DELETE: Set, Create, Update, CreateInOrder, Delete,
// and the members and auth changes) moves on only if it never left the
// client, because no connection could be made for it. Once it may have
// reached a member, that member may apply it even if its answer is lost, and
// sending it again could apply it twice: a second in-order key, a Create or a
// compare-and-swap reported as failed although it succeeded, or an older
// value written over a newer one. Such a call returns a *ClusterError at
// once, and the next call starts at the next endpoint.
//
// # Errors
//
// A call returns one of four kinds of error:
//
//   - The context's error (context.Canceled or context.DeadlineExceeded, the
//     value itself) when the call's context ends, whatever else happened.
//   - A *ClusterError when no endpoint gave an answer: it holds each failed
//     attempt's error.
//   - An Error (a value, not a pointer) when a member refused a keys API
//     request, with one of the ErrorCode constants; IsKeyNotFound tests for
//     the most common one. The members and auth APIs report their refusals
//     with the server's message; IsUserNotFound and IsRoleNotFound recognize
//     those of the auth API.
//   - ErrEmptyBody or ErrInvalidJSON when an answer is not one that an etcd
//     member gives: the endpoint is probably not an etcd member.
//
// # Watches
//
// A Watcher long-polls. Each Next continues after the index of the event it
// last returned, so events are neither lost nor repeated, even when a member
// fails and the poll moves to another one.
//
// # Limits
//
// The client cannot tell a member that stopped (SIGSTOP) or that is cut off
// from its peers from a slow one, except by HeaderTimeoutPerRequest for
// requests other than watches. A member cut off from the quorum may serve
// stale data to non-quorum reads and to watches; use GetOptions.Quorum for
// reads that must be current.
package client
