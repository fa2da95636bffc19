package clientv3

import (
	"bytes"
	"unsafe"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Watches of one stream that ask for the same keys with the same options
// share one watch on the server once they need the same events. A process
// with a hundred watchers of one prefix then receives, and the member
// sends, one message per change instead of a hundred; each watcher still
// gets its own copy of every response, as if it had a server watch of its
// own.
//
// Every watch is still created on the server by itself, so its creation
// (and the created response, the header its Watch call starts after) is
// exactly the official client's. After that, a watch S may ride the server
// watch of a compatible head H when that server watch will send every
// event S still needs: H's next revision is not past S's. S's own server
// watch is then canceled, and S takes from H's responses only the events
// from its own next revision on. A watch created from a past revision
// replays its history on its own server watch and rides once it has caught
// up. A watch from a revision the store has not reached yet keeps its own
// server watch until its first response: while such a watch exists the
// member answers no RequestProgress on the stream, and riding would make it
// answer where it answers the official client's watches with silence. The
// check runs when a watch is created and after each response of a watch
// that is not yet the indexed head of its key.
//
// The head holds the server watch's state (id, frag, activation,
// catchUpTo); its nextRev is the first revision the server watch has yet
// to send, or later (a rider that took the server watch over may have been
// ahead of it), which only makes joining it stricter. When the head leaves
// (its ctx ends, its reader falls behind), the first rider takes the
// server watch over; the last one to leave cancels it. A broken stream
// ends all sharing: every watch is created again on its own and shares
// anew.

// sameWatch reports whether a and b ask the server for the same events.
func sameWatch(a, b *subscriber) bool {
	return a.opts == b.opts && bytes.Equal(a.key, b.key) && bytes.Equal(a.end, b.end)
}

// keyOf is sub's key as a map key. It aliases the subscriber's key, which
// nothing modifies after the Watch call, so that indexing a watch
// allocates nothing.
func keyOf(sub *subscriber) string {
	return unsafe.String(unsafe.SliceData(sub.key), len(sub.key))
}

// share has sub, an active watch that rides nothing and has no riders,
// ride the indexed head of its key if that head's server watch will send
// every event sub needs; otherwise sub becomes the indexed head if there
// is none. It reports whether sub now rides.
func (s *watchStream) share(sub *subscriber) bool {
	// Riders join only the indexed head, so a watch that is not indexed
	// has none.
	if sub.state != subActive || sub.head != nil || sub.indexed || sub.frag != nil || sub.nextRev == 0 {
		return false
	}
	k := keyOf(sub)
	h := s.heads[k]
	if h == nil {
		s.heads[k] = sub
		sub.indexed = true
		return false
	}
	if sub.ahead {
		return false
	}
	// A head still replaying the history it was created from would hold
	// back the events sub needs now behind events it does not.
	replaying := h.catchUpTo != 0 && h.nextRev <= h.catchUpTo
	if h.nextRev == 0 || h.nextRev > sub.nextRev || replaying || !sameWatch(h, sub) {
		return false
	}
	s.cancelOnServer(sub.id)
	delete(s.byID, sub.id)
	sub.id, sub.catchUpTo = 0, 0
	sub.head = h
	s.riders[h] = append(s.riders[h], sub)
	return true
}

// leave takes active sub off the server watch it holds or rides: a rider
// just goes; a head hands the server watch to its first rider, or cancels
// it on the server if it has none. sub's state is the caller's to set.
func (s *watchStream) leave(sub *subscriber) {
	if h := sub.head; h != nil {
		rs := s.riders[h]
		for i, r := range rs {
			if r == sub {
				last := len(rs) - 1
				rs[i], rs[last] = rs[last], nil
				rs = rs[:last]
				break
			}
		}
		if len(rs) == 0 {
			delete(s.riders, h)
		} else {
			s.riders[h] = rs
		}
		sub.head = nil
		return
	}
	delete(s.byID, sub.id)
	rs := s.riders[sub]
	if len(rs) == 0 {
		s.cancelOnServer(sub.id)
		s.unindex(sub)
		return
	}
	delete(s.riders, sub)
	n := rs[0]
	if rest := rs[1:]; len(rest) > 0 {
		s.riders[n] = rest
		for _, r := range rest {
			r.head = n
		}
	}
	n.head = nil
	n.id, n.frag = sub.id, sub.frag
	n.activation, n.catchUpTo = sub.activation, sub.catchUpTo
	s.byID[n.id] = n
	if sub.indexed {
		s.heads[keyOf(n)] = n
		n.indexed = true
		sub.indexed = false
	}
	sub.frag = nil
}

// takeRiders removes and returns head's riders, which ride nothing after.
func (s *watchStream) takeRiders(head *subscriber) []*subscriber {
	rs := s.riders[head]
	delete(s.riders, head)
	for _, r := range rs {
		r.head = nil
	}
	return rs
}

// unindex removes head from the index, if it is there.
func (s *watchStream) unindex(head *subscriber) {
	if head.indexed {
		delete(s.heads, keyOf(head))
		head.indexed = false
	}
}

// unshareAll forgets every sharing of the stream, which has broken.
func (s *watchStream) unshareAll() {
	for sub := range s.subs {
		sub.head, sub.indexed = nil, false
	}
	clear(s.heads)
	clear(s.riders)
}

// fanOut hands a head's response of events to the head and each rider,
// each taking the events from its nextRev on; the first to take any gets
// resp's own header and events, the others copies, so that no two watches
// share anything a reader might modify. It returns the watches whose
// readers are too far behind to take theirs.
func (s *watchStream) fanOut(head *subscriber, resp *pb.WatchResponse) (behind []*subscriber) {
	given := false
	take := func(sub *subscriber) {
		evs := resp.Events
		i := 0
		for i < len(evs) && evs[i].Kv.ModRevision < sub.nextRev {
			i++
		}
		if i == len(evs) {
			return
		}
		wr := WatchResponse{Header: resp.Header, Events: evs[i:]}
		if given {
			wr.Header, wr.Events = copyResponse(resp.Header, evs[i:])
		}
		if !sub.offer(wr) {
			behind = append(behind, sub)
			return
		}
		given = true
		// The server never splits a revision across responses, so every
		// event up to the last one's revision has now been queued.
		sub.nextRev = evs[len(evs)-1].Kv.ModRevision + 1
	}
	take(head)
	for _, r := range s.riders[head] {
		take(r)
	}
	return behind
}

// progressAll tells head and its riders that head's server watch has sent
// everything up to hdr's revision (see progress).
func (s *watchStream) progressAll(head *subscriber, hdr *pb.ResponseHeader, own bool) {
	s.progress(head, hdr, own)
	for _, r := range s.riders[head] {
		s.progress(r, copyHeader(hdr), own)
	}
}

func copyHeader(h *pb.ResponseHeader) *pb.ResponseHeader {
	if h == nil {
		return nil
	}
	c := &pb.ResponseHeader{}
	setHeader(c, h)
	return c
}

func setHeader(c, h *pb.ResponseHeader) {
	c.ClusterId, c.MemberId, c.Revision, c.RaftTerm = h.ClusterId, h.MemberId, h.Revision, h.RaftTerm
}

// oneEventCopy holds a rider's copy of a response of one event (the most
// common) in one allocation, its bytes aside; oneEventPrevCopy, of one with
// a previous key-value too. The event without one is a smaller size class
// (288 bytes instead of 384).
type oneEventCopy struct {
	hdr pb.ResponseHeader
	ptr [1]*Event
	ev  Event
	kv  mvccpb.KeyValue
}

type oneEventPrevCopy struct {
	oneEventCopy
	prev mvccpb.KeyValue
}

// copyResponse deep-copies a response's header and events for a rider:
// two allocations for one event, five for more.
func copyResponse(hdr *pb.ResponseHeader, evs []*Event) (*pb.ResponseHeader, []*Event) {
	nkv, nb := 0, 0
	for _, ev := range evs {
		for _, kv := range [2]*mvccpb.KeyValue{ev.Kv, ev.PrevKv} {
			if kv != nil {
				nkv++
				nb += len(kv.Key) + len(kv.Value)
			}
		}
	}
	buf := make([]byte, 0, nb)
	cp := func(kv, c *mvccpb.KeyValue) *mvccpb.KeyValue {
		if kv == nil {
			return nil
		}
		c.CreateRevision, c.ModRevision, c.Version, c.Lease = kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease
		c.Key, buf = appendOwn(buf, kv.Key)
		c.Value, buf = appendOwn(buf, kv.Value)
		return c
	}
	if len(evs) == 1 {
		ev := evs[0]
		var (
			b    *oneEventCopy
			prev *mvccpb.KeyValue
		)
		if ev.PrevKv != nil {
			bp := &oneEventPrevCopy{}
			b, prev = &bp.oneEventCopy, &bp.prev
		} else {
			b = &oneEventCopy{}
		}
		var hc *pb.ResponseHeader
		if hdr != nil {
			hc = &b.hdr
			setHeader(hc, hdr)
		}
		b.ev.Type = ev.Type
		b.ev.Kv, b.ev.PrevKv = cp(ev.Kv, &b.kv), cp(ev.PrevKv, prev)
		b.ptr[0] = &b.ev
		return hc, b.ptr[:]
	}
	ptrs, events, kvs := make([]*Event, len(evs)), make([]Event, len(evs)), make([]mvccpb.KeyValue, nkv)
	slot := func(kv *mvccpb.KeyValue) *mvccpb.KeyValue {
		if kv == nil {
			return nil
		}
		c := &kvs[0]
		kvs = kvs[1:]
		return c
	}
	for i, ev := range evs {
		e := &events[i]
		e.Type = ev.Type
		e.Kv, e.PrevKv = cp(ev.Kv, slot(ev.Kv)), cp(ev.PrevKv, slot(ev.PrevKv))
		ptrs[i] = e
	}
	return copyHeader(hdr), ptrs
}

// appendOwn appends b to buf and returns the appended part (nil for a nil
// b, keeping the difference between absent and empty) and the new buf.
func appendOwn(buf, b []byte) ([]byte, []byte) {
	if b == nil {
		return nil, buf
	}
	n := len(buf)
	buf = append(buf, b...)
	return buf[n:len(buf):len(buf)], buf
}
