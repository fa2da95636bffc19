package attemptclock

import (
	"sync/atomic"
	"testing"
	"time"
)

// counter is a Checker that counts its checks and asks for the next one
// after every, if every is not zero.
type counter struct {
	n     atomic.Int32
	every time.Duration
	at    atomic.Int64 // when the first check ran, in UnixNano
}

func (c *counter) Check() (time.Duration, bool) {
	if c.n.Add(1) == 1 {
		c.at.Store(time.Now().UnixNano())
	}
	return c.every, c.every > 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestACheckRunsOnceWhenDueAndNotBefore(t *testing.T) {
	var k Clock
	var e Entry
	c := &counter{}
	start := time.Now()
	k.Add(&e, c, time.Now().Add(30*time.Millisecond))
	defer k.Remove(&e)
	waitFor(t, "the check ran", func() bool { return c.n.Load() == 1 })
	if ran := time.Unix(0, c.at.Load()).Sub(start); ran < 30*time.Millisecond {
		t.Errorf("the check ran after %v, before it was due (30ms)", ran)
	}
	time.Sleep(60 * time.Millisecond)
	if n := c.n.Load(); n != 1 {
		t.Errorf("a check that asked for no other ran %d times, want once", n)
	}
}

func TestACheckThatAsksAgainRunsUntilRemoved(t *testing.T) {
	var k Clock
	var e Entry
	c := &counter{every: 5 * time.Millisecond}
	k.Add(&e, c, time.Now().Add(5*time.Millisecond))
	waitFor(t, "the check ran three times", func() bool { return c.n.Load() >= 3 })
	k.Remove(&e)
	n := c.n.Load()
	time.Sleep(30 * time.Millisecond)
	if got := c.n.Load(); got != n {
		t.Errorf("the check ran %d more times after Remove returned", got-n)
	}
}

func TestAnEntryAddedWithoutACheckIsNeverChecked(t *testing.T) {
	var k Clock
	var e Entry
	c := &counter{}
	k.Add(&e, c, time.Time{})
	time.Sleep(20 * time.Millisecond)
	k.Remove(&e)
	if n := c.n.Load(); n != 0 {
		t.Errorf("an entry with no check due was checked %d times", n)
	}
}

func TestSlackDelaysTheNextFiring(t *testing.T) {
	k := Clock{Slack: 50 * time.Millisecond}
	var e Entry
	c := &counter{every: time.Millisecond}
	k.Add(&e, c, time.Now().Add(50*time.Millisecond))
	defer k.Remove(&e)
	waitFor(t, "the check ran", func() bool { return c.n.Load() >= 1 })
	time.Sleep(120 * time.Millisecond)
	if n := c.n.Load(); n > 4 {
		t.Errorf("a check asking every 1ms ran %d times in 120ms under a 50ms slack, want at most 4", n)
	}
}

func TestRemovedEntriesCanBeAddedAgainAndOthersStayWatched(t *testing.T) {
	var k Clock
	var a, b, c Entry
	ca, cb, cc := &counter{}, &counter{}, &counter{}
	k.Add(&a, ca, time.Now().Add(10*time.Millisecond))
	k.Add(&b, cb, time.Now().Add(10*time.Millisecond))
	k.Add(&c, cc, time.Now().Add(10*time.Millisecond))
	k.Remove(&b) // from the middle of the list
	k.Remove(&b) // twice is harmless
	k.Add(&b, cb, time.Now().Add(10*time.Millisecond))
	waitFor(t, "every entry was checked", func() bool { return ca.n.Load() == 1 && cb.n.Load() == 1 && cc.n.Load() == 1 })
	k.Remove(&a)
	k.Remove(&b)
	k.Remove(&c)
	if k.head != nil {
		t.Errorf("entries remain listed after all were removed")
	}
}

func TestAnIdleClockDoesNotKeepAFarTimerArmed(t *testing.T) {
	var k Clock
	var e Entry
	k.Add(&e, &counter{}, time.Now().Add(time.Hour))
	k.Remove(&e)
	if !k.armed.IsZero() {
		t.Errorf("the timer stays armed for %v with nothing watched", time.Until(k.armed).Round(time.Minute))
	}
}
