package namespace

import (
	"bytes"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// addPrefix returns pfx+key in a new slice.
func addPrefix(pfx string, key []byte) []byte {
	out := make([]byte, 0, len(pfx)+len(key))
	out = append(out, pfx...)
	return append(out, key...)
}

// rangeEnd translates a range end from the namespace into the keyspace:
// no end stays no end, the "to the end" marker "\x00" becomes the end of
// the namespace, and any other end gets the prefix.
func rangeEnd(pfx string, end []byte) []byte {
	switch {
	case len(end) == 0:
		return nil
	case len(end) == 1 && end[0] == 0:
		return []byte(clientv3.GetPrefixRangeEnd(pfx))
	default:
		return addPrefix(pfx, end)
	}
}

// trim removes pfx from key. Keys the server returns for a namespaced
// request always carry the prefix; a key that does not is left alone
// rather than mangled.
func trim(pfx string, key []byte) []byte {
	if bytes.HasPrefix(key, []byte(pfx)) {
		return key[len(pfx):]
	}
	return key
}

// trimKVs removes pfx from the keys of kvs, in place: the key-values of a
// KV response belong to that response alone.
func trimKVs(pfx string, kvs []*mvccpb.KeyValue) {
	for _, kv := range kvs {
		if kv != nil {
			kv.Key = trim(pfx, kv.Key)
		}
	}
}

// trimmedKV returns a copy of kv with pfx removed from its key. Watch
// events are copied rather than changed because a watcher may hand the
// same event to several channels.
func trimmedKV(pfx string, kv *mvccpb.KeyValue) *mvccpb.KeyValue {
	if kv == nil {
		return nil
	}
	return &mvccpb.KeyValue{
		Key:            trim(pfx, kv.Key),
		CreateRevision: kv.CreateRevision,
		ModRevision:    kv.ModRevision,
		Version:        kv.Version,
		Value:          kv.Value,
		Lease:          kv.Lease,
	}
}
