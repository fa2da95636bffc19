// Package codec is the gRPC codec of the client's connections.
//
// It speaks protobuf, as grpc-go's default codec does, and differs only in
// what it costs the client:
//   - a request of up to 1 KiB is marshaled into a piece cut from a slab
//     shared by many requests (no allocation on average, nothing to zero
//     or return), a larger one into a buffer taken from grpc-go's pool,
//     which the transport returns after writing it, instead of a fresh
//     slice per message;
//   - the responses that carry keys — RangeResponse and WatchResponse — are
//     decoded by hand, with a fixed number of allocations per response
//     instead of three or more per key: the messages of one response are
//     carved out of one block, and their keys and values out of one byte
//     slab or, for a response too large for one transport buffer, out of
//     the one copy of it the codec makes anyway; a range response of a
//     MiB or more is not copied at all: its keys and values point into the
//     transport's buffers, which it then keeps from the transport's pool.
//     Anything the hand decoder does not expect (an unknown field, a
//     repeated singular message, a malformed message) sends the response
//     through the generic protobuf decoder instead, so the result is always
//     what proto.Unmarshal would give.
//
// Sharing blocks has one consequence callers may notice: a key-value kept
// from a response keeps the whole response's block and bytes alive. Every
// byte slice handed out has its capacity cut to its length, so appending to
// one never writes into its neighbour.
package codec
