// Package clientv3 is a Go client for the etcd v3 API.
//
// It is a drop-in replacement for go.etcd.io/etcd/client/v3: the exported
// API is the same, so a program switches by changing its import path.
//
// Create a client with New and close it when done; a Client owns gRPC
// connections and background goroutines that only Close releases:
//
//	cli, err := clientv3.New(clientv3.Config{
//		Endpoints:   []string{"localhost:2379"},
//		DialTimeout: 5 * time.Second,
//	})
//	if err != nil {
//		// handle error
//	}
//	defer cli.Close()
//
// Every call takes a context; its deadline bounds the call including
// retries. Errors are of two kinds:
//
//  1. the context's own error: a canceled or expired ctx makes the call
//     return ctx.Err() itself, so err == context.Canceled holds;
//  2. an etcd server error from go.etcd.io/etcd/api/v3/v3rpc/rpctypes, for
//     which both err == rpctypes.ErrEmptyKey and errors.Is hold.
//
// A Client is safe for concurrent use and should be reused: it keeps
// watches and leases on shared streams.
//
// Requests that only read (Get, Status, MemberList, ...) are retried on
// another endpoint when a member fails. Requests that write are retried
// only when the client can prove the request never left it, so a retry
// never applies a write twice.
package clientv3
