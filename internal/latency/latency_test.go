package latency

import (
	"testing"
	"time"
)

func TestBoundIsTheFloorUntilLatencyWarrantsMore(t *testing.T) {
	var e Estimator
	if got := e.Bound(time.Second, 4); got != time.Second {
		t.Fatalf("bound with no samples = %v, want the floor, 1s", got)
	}
	for range 200 {
		e.Observe(2 * time.Millisecond)
	}
	if got := e.Bound(time.Second, 4); got != time.Second {
		t.Fatalf("bound after 2ms samples = %v, want the floor, 1s", got)
	}
	for range 200 {
		e.Observe(500 * time.Millisecond)
	}
	if got, want := e.Bound(time.Second, 4), 2*time.Second; got < want || got > want+10*time.Millisecond {
		t.Fatalf("bound after steady 500ms samples = %v, want 4 × 500ms = %v", got, want)
	}
}

func TestWorstCoversTheSpreadOfSamples(t *testing.T) {
	var e Estimator
	for i := range 400 {
		e.Observe(time.Duration(10+10*(i%2)) * time.Millisecond) // 10ms, 20ms, …
	}
	if got := e.Worst(); got < 20*time.Millisecond || got > 50*time.Millisecond {
		t.Fatalf("worst of samples alternating 10ms and 20ms = %v, want between 20ms and 50ms", got)
	}
}

func TestAverageStartsAtTheFirstSampleAndMovesByItsWeight(t *testing.T) {
	a := Average{Shift: 2}
	if a.Load() != 0 {
		t.Fatalf("unmeasured average = %v, want 0", a.Load())
	}
	a.Observe(100 * time.Millisecond)
	if a.Load() != 100*time.Millisecond {
		t.Fatalf("after one sample = %v, want the sample, 100ms", a.Load())
	}
	a.Observe(200 * time.Millisecond)
	if want := 125 * time.Millisecond; a.Load() != want {
		t.Fatalf("after 100ms then 200ms with weight 1/4 = %v, want %v", a.Load(), want)
	}
	var b Average
	b.Observe(100 * time.Millisecond)
	b.Observe(180 * time.Millisecond)
	if want := 110 * time.Millisecond; b.Load() != want {
		t.Fatalf("zero Shift: after 100ms then 180ms = %v, want weight 1/8: %v", b.Load(), want)
	}
}
