// Package recipe holds experimental distributed synchronization
// primitives built on etcd: barriers, double barriers, queues, priority
// queues and reader/writer locks.
//
// The primitives order contenders by the revisions of keys they create
// under a common prefix. Their methods take no context: they use the
// client's, so closing the client ends any wait.
package recipe

import "errors"

// Errors of the recipes.
var (
	ErrKeyExists      = errors.New("key already exists")
	ErrWaitMismatch   = errors.New("unexpected wait result")
	ErrTooManyClients = errors.New("too many clients")
	ErrNoWatcher      = errors.New("no watcher channel")
)
