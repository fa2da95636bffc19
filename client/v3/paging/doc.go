// Package paging reads large ranges page by page.
//
// A Get of a whole prefix makes the server build, and the client hold, the
// entire range at once. Range instead reads it pageSize keys at a time, every
// page at the revision of the first, so that the caller sees one consistent
// snapshot while holding at most one page. It is an addition of etcdkit's:
// the official client has no such package.
package paging
