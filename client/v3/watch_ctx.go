package clientv3

import (
	"context"
	"sync"
)

// watchCtxs closes the channels of watches whose Watch call's ctx ends.
//
// Watches whose contexts share one Done channel (many watches are usually
// made with one ctx) share one context.AfterFunc: one registration per
// watch was a fifth of what an idle watch costs in memory. Contexts are
// told apart by their Done channel, which is comparable whatever the
// context's type, and whose closing ends every context that returns it.
type watchCtxs struct {
	// mu is taken last: nothing else is locked while it is held.
	mu     sync.Mutex
	byDone map[<-chan struct{}]*ctxWatches
}

// ctxWatches are the open watches of one Done channel.
type ctxWatches struct {
	subs map[*subscriber]struct{}
	stop func() bool // unregisters the AfterFunc
}

// join has sub's channel closed when sub.ctx ends. A ctx that never ends
// needs nothing.
func (c *watchCtxs) join(sub *subscriber) {
	done := sub.ctx.Done()
	if done == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.byDone[done]
	if g == nil {
		if c.byDone == nil {
			c.byDone = make(map[<-chan struct{}]*ctxWatches)
		}
		g = &ctxWatches{subs: make(map[*subscriber]struct{})}
		c.byDone[done] = g
		// If ctx has ended already, ended runs at once, in a goroutine
		// of its own, and waits for mu.
		g.stop = context.AfterFunc(sub.ctx, func() { c.ended(done) })
	}
	g.subs[sub] = struct{}{}
}

// leave forgets sub, whose channel is closed, and unregisters its ctx once
// no open watch has it.
func (c *watchCtxs) leave(sub *subscriber) {
	done := sub.ctx.Done()
	if done == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.byDone[done]
	if g == nil {
		return
	}
	delete(g.subs, sub)
	if len(g.subs) == 0 {
		g.stop()
		delete(c.byDone, done)
	}
}

// ended closes the channels of the watches whose ctx returns done, which
// is closed. Once the entry is removed nobody else finds it, so its set
// is read without the lock.
func (c *watchCtxs) ended(done <-chan struct{}) {
	c.mu.Lock()
	g := c.byDone[done]
	delete(c.byDone, done)
	c.mu.Unlock()
	if g == nil {
		return
	}
	for sub := range g.subs {
		sub.ctxDone()
	}
}

// stopAll unregisters every ctx, for the watcher's Close: by then every
// channel is closed, and a registration left (there is none unless a
// closing watch raced with its ctx) must not outlive the watcher.
func (c *watchCtxs) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for done, g := range c.byDone {
		g.stop()
		delete(c.byDone, done)
	}
}
