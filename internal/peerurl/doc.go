// Package peerurl checks the peer URLs a caller gives when adding or
// updating a member, before they are sent: the official clients refuse the
// same inputs locally, with the same messages, and a malformed URL that
// reached a member could only be refused there.
package peerurl
