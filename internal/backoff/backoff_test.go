package backoff

import (
	"testing"
	"time"
)

func TestExponentialDoublesFromBaseAndStopsAtMax(t *testing.T) {
	e := Exponential{Base: 25 * time.Millisecond, Max: time.Second}
	want := []time.Duration{25, 25, 25, 50, 100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		n := i - 1 // from -1: n <= 1 all give Base
		if got := e.Delay(n); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", n, got, w*time.Millisecond)
		}
	}
	if got := e.Delay(1 << 30); got != time.Second {
		t.Errorf("Delay after a billion failures = %v, want the ceiling %v", got, time.Second)
	}
}

func TestExponentialWithBaseAboveMaxWaitsMax(t *testing.T) {
	if got := (Exponential{Base: time.Second, Max: time.Millisecond}).Delay(3); got != time.Millisecond {
		t.Errorf("Delay = %v, want the ceiling 1ms", got)
	}
}

func TestJitterStaysWithinItsFraction(t *testing.T) {
	for range 1000 {
		if got := Jitter(time.Second, 0.2); got < 800*time.Millisecond || got > 1200*time.Millisecond {
			t.Fatalf("Jitter(1s, 0.2) = %v, outside [0.8s, 1.2s]", got)
		}
		if got := Jitter(time.Second, 2); got < 0 {
			t.Fatalf("Jitter(1s, 2) = %v, below zero", got)
		}
	}
	if got := Jitter(time.Second, 0); got != time.Second {
		t.Errorf("Jitter without a fraction = %v, want the wait unchanged", got)
	}
}

func TestHalfStaysBetweenHalfAndWhole(t *testing.T) {
	for range 1000 {
		if got := Half(100 * time.Millisecond); got < 50*time.Millisecond || got > 100*time.Millisecond {
			t.Fatalf("Half(100ms) = %v, outside [50ms, 100ms]", got)
		}
	}
	if got := Half(0); got != 0 {
		t.Errorf("Half(0) = %v, want 0", got)
	}
}

func TestExponentialEndsForAnyFailureCountAndNeverOverflows(t *testing.T) {
	if got := (Exponential{}).Delay(1 << 40); got != 0 {
		t.Errorf("the zero Exponential waits %v, want nothing", got)
	}
	if got := (Exponential{Max: time.Second}).Delay(1 << 40); got != 0 {
		t.Errorf("an Exponential without a Base waits %v, want nothing", got)
	}
	huge := Exponential{Base: 3 * time.Nanosecond, Max: time.Duration(1<<63 - 1)}
	if got := huge.Delay(200); got != huge.Max {
		t.Errorf("Delay(200) under the largest ceiling = %v, want the ceiling (no overflow)", got)
	}
}
