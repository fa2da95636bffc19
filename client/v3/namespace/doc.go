// Package namespace wraps the KV, Watcher and Lease interfaces of a clientv3
// client so that every key the caller names lives under a fixed prefix.
//
// Keys and range ends are prefixed on the way out; keys in results (Get,
// the previous key-values of Put and Delete, transaction results, watch
// events and the keys attached to a lease) have the prefix removed on the
// way back. A range that runs "to the end of the keyspace" (WithFromKey, or
// WithPrefix on the empty key) runs to the end of the namespace instead, so
// a namespaced client never sees or changes a key outside its prefix.
//
// As with the official wrapper, Put, Get, Delete and Do refuse the empty
// key with rpctypes.ErrEmptyKey before sending (Get and Delete accept it
// with WithPrefix or WithFromKey, which name the whole namespace), but the
// operations inside a transaction are not checked: there the empty key
// addresses the prefix key itself. GetStream is refused as unimplemented.
// Closing a namespaced Watcher closes the wrapped one and every channel
// its Watch returned, dropping responses no reader has taken.
//
// Replace a client's interfaces to namespace all of its calls:
//
//	cli.KV = namespace.NewKV(cli.KV, "my-prefix/")
//	cli.Watcher = namespace.NewWatcher(cli.Watcher, "my-prefix/")
//	cli.Lease = namespace.NewLease(cli.Lease, "my-prefix/")
//
//	cli.Put(ctx, "abc", "123") // stores "my-prefix/abc"
package namespace
