package etcdtest

import (
	"net"
	"sync"
	"time"
)

// A proxy forwards TCP connections from its listener to one target address,
// and is where faults happen. A connection can be held: nothing is read from
// or written to either side, as if every packet were dropped, so the peers see
// silence rather than a reset and catch up unharmed once it is released. That
// is what both a grey failure and a network partition look like to etcd and to
// its clients.
type proxy struct {
	ln     net.Listener
	target string
	// also are further listeners whose connections go the same way and
	// suffer the same faults (a member's unix socket); guarded by mu.
	also []net.Listener
	// hold decides whether a connection must be held now; it is evaluated
	// when the connection starts and whenever the proxy's state changes.
	hold func(*proxyConn) bool
	// classify runs once per accepted connection before any byte is
	// forwarded, to record who opened it.
	classify func(*proxyConn)

	mu      sync.Mutex
	conns   map[*proxyConn]struct{}
	delay   time.Duration
	changed chan struct{} // closed and replaced when hold or delay may have changed
	closed  bool
	wg      sync.WaitGroup
}

type proxyConn struct {
	client, server net.Conn
	// from is the index of the member that opened the connection, or -1.
	from int
	// dropped is set, under the proxy's lock, once the connection is closed
	// on purpose.
	dropped bool
}

func newProxy(ln net.Listener, target string) *proxy {
	return &proxy{
		ln:       ln,
		target:   target,
		hold:     func(*proxyConn) bool { return false },
		classify: func(*proxyConn) {},
		conns:    map[*proxyConn]struct{}{},
		changed:  make(chan struct{}),
	}
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() { p.accept(p.ln) }

// serveAlso has the proxy forward the connections of ln too, until it
// closes; it reports false, closing ln, if the proxy is closed already.
func (p *proxy) serveAlso(ln net.Listener) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		ln.Close()
		return false
	}
	p.also = append(p.also, ln)
	p.accept(ln)
	return true
}

func (p *proxy) accept(ln net.Listener) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c)
			}()
		}
	}()
}

// update applies f under the lock and wakes every connection so that it
// re-evaluates hold and delay.
func (p *proxy) update(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f != nil {
		f()
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *proxy) setDelay(d time.Duration) { p.update(func() { p.delay = d }) }

// state returns whether pc is held, the delay, whether the proxy is closed,
// and a channel closed at the next change of any of them.
func (p *proxy) state(pc *proxyConn) (held bool, delay time.Duration, closed bool, changed <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hold(pc), p.delay, p.closed || pc.dropped, p.changed
}

// dropAll closes every open connection, held ones included.
func (p *proxy) dropAll() {
	p.update(func() {
		for pc := range p.conns {
			pc.dropped = true
			pc.client.Close()
			if pc.server != nil {
				pc.server.Close()
			}
		}
	})
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	also := p.also
	p.mu.Unlock()
	p.ln.Close()
	for _, ln := range also {
		ln.Close()
	}
	p.dropAll()
	p.wg.Wait()
}

func (p *proxy) forward(client net.Conn) {
	pc := &proxyConn{client: client, from: -1}
	p.classify(pc)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		client.Close()
		return
	}
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	defer func() {
		client.Close()
		if pc.server != nil {
			pc.server.Close()
		}
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
	}()

	// A held connection is accepted but not yet dialled through: to its
	// client the member is reachable and silent.
	if !p.waitReleased(pc) {
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return // the member is down: its client sees the connection closed
	}
	p.mu.Lock()
	pc.server = server
	dropped := pc.dropped
	p.mu.Unlock()
	if dropped {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(pc, server, client) }()
	go func() { defer wg.Done(); p.pipe(pc, client, server) }()
	wg.Wait()
}

// waitReleased blocks while pc is held; it reports false if the proxy closed.
func (p *proxy) waitReleased(pc *proxyConn) bool {
	for {
		held, _, closed, changed := p.state(pc)
		if closed {
			return false
		}
		if !held {
			return true
		}
		<-changed
	}
}

type chunk struct {
	b  []byte
	at time.Time
}

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// pipe copies src to dst. A reader and a writer goroutine meet through a
// queue of chunks stamped with their arrival, so that a delay postpones each
// chunk without throttling the stream, and a hold stops both reading (the
// sender's buffers fill, as they would behind a dead link) and writing.
func (p *proxy) pipe(pc *proxyConn, dst, src net.Conn) {
	queue := make(chan chunk, 64)
	go func() {
		defer close(queue)
		for {
			if !p.waitReleased(pc) {
				return
			}
			bp := chunkPool.Get().(*[]byte)
			n, err := src.Read(*bp)
			if n > 0 {
				queue <- chunk{b: (*bp)[:n], at: time.Now()}
			} else {
				chunkPool.Put(bp)
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range queue {
		if !failed {
			failed = !p.deliver(pc, dst, c)
			if failed {
				src.Close() // unblock the reader; the connection is broken
			}
		}
		b := c.b[:cap(c.b)]
		chunkPool.Put(&b)
	}
	if tc, ok := dst.(*net.TCPConn); ok && !failed {
		tc.CloseWrite() // pass the half-close on
	} else {
		dst.Close()
	}
}

// deliver writes c to dst once it is due and pc is not held.
func (p *proxy) deliver(pc *proxyConn, dst net.Conn, c chunk) bool {
	for {
		held, delay, closed, changed := p.state(pc)
		if closed {
			return false
		}
		if held {
			<-changed
			continue
		}
		if wait := time.Until(c.at.Add(delay)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-changed:
				t.Stop()
				continue // the delay or hold changed: look again
			}
		}
		_, err := dst.Write(c.b)
		return err == nil
	}
}
