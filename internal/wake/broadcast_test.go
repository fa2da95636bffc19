package wake

import (
	"testing"
	"time"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestSignalWakesEveryWaiterAndOnlyThoseBeforeIt(t *testing.T) {
	var b Broadcast
	w1, w2 := b.Wait(), b.Wait()
	if closed(w1) || closed(w2) {
		t.Fatal("a wait ended before any signal")
	}
	b.Signal()
	if !closed(w1) || !closed(w2) {
		t.Error("a signal left a waiter waiting")
	}
	if closed(b.Wait()) {
		t.Error("a wait begun after the signal ended at once, want it to wait for the next")
	}
}

func TestSignalWithNobodyWaitingIsNotRemembered(t *testing.T) {
	var b Broadcast
	b.Signal()
	b.Signal()
	if closed(b.Wait()) {
		t.Error("a signal given to nobody woke a later waiter")
	}
}

func TestAWaiterInAnotherGoroutineIsWoken(t *testing.T) {
	var b Broadcast
	ch := b.Wait()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ch
	}()
	b.Signal()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter was not woken within 5s")
	}
}
