// Package clientv3util holds small helpers built on clientv3.
package clientv3util

import clientv3 "github.com/a74b11dd/etcdkit/client/v3"

// KeyExists returns a comparison that holds when key exists, that is when
// its version is above zero. It guards deletes in transactions.
func KeyExists(key string) clientv3.Cmp {
	return clientv3.Compare(clientv3.Version(key), ">", 0)
}

// KeyMissing returns a comparison that holds when key does not exist.
func KeyMissing(key string) clientv3.Cmp {
	return clientv3.Compare(clientv3.Version(key), "=", 0)
}
