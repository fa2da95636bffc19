// Package leasing serves reads from a client-side cache whose entries
// stay correct because the client holds, for each cached key, a lease on
// it that other leasing clients must take away before they write.
//
// For a user key k the client creates the leasing key pfx+k, bound to its
// session's lease, in the same transaction as its read of k; while that
// leasing key exists, the cached value is current. A leasing client that
// wants to write k asks the owner to give up its lease by putting the
// value "REVOKE" to the leasing key (keeping the owner's lease), then
// waits until the owner has dropped its cache entry and deleted the
// leasing key, and only then writes, in a transaction that checks that no
// leasing key for k exists. An owner that has died loses its leasing keys
// when its session lease expires.
//
//	lkv, closeLKV, err := leasing.NewKV(cli, "leasing-prefix/")
//	defer closeLKV()
//	resp, err := lkv.Get(ctx, "abc") // acquires the lease, reads from etcd
//	resp, err = lkv.Get(ctx, "abc")  // served from the cache
//
// NewKV waits until it has a session, as the official one does; the KV
// and the close function are never nil, even with an error. Once closed,
// the KV still answers every call, from etcd, without caching or taking
// keys.
//
// The cache is coherent with writes made through leasing clients that
// share the prefix. Writes made directly, bypassing the leasing layer, are
// not seen by a client that has the key cached. A Get of a single key at
// the latest revision is answered from the cache whatever its other
// options (keys only, count only, revision bounds, limit, sort,
// serializable), which are applied to the cached pair; so is a
// transaction whose comparisons and chosen branch only read cached keys.
// Everything else goes to etcd, and a key bound to a lease of its own is
// never cached. As with the official leasing KV, GetStream is not
// supported.
package leasing
