package clientv3

import "google.golang.org/grpc/metadata"

// Hooks for the external tests of watch.go.

// SetWatchQueueLimit sets how many responses a watch may queue for a slow
// reader, and returns a function that restores the previous limit.
func SetWatchQueueLimit(n int) (restore func()) {
	old := watchQueueLimit
	watchQueueLimit = n
	return func() { watchQueueLimit = old }
}

// StreamKey is streamKey.
func StreamKey(md metadata.MD) string { return streamKey(md) }

// StreamFailedResponse is the last response of a watch whose stream failed
// with err.
func StreamFailedResponse(err error) WatchResponse {
	return WatchResponse{Canceled: true, closeErr: err}
}
