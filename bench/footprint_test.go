package main

import (
	"math"
	"runtime"
	"testing"
	"time"
)

func TestHeapPeakSeesAnAllocationGoneByTheEnd(t *testing.T) {
	const size = 64 << 20
	peak := newHeapPeak()
	collectAll()
	peak.begin()
	b := make([]byte, size)
	for i := range b {
		b[i] = 1 // in use, not only reserved
	}
	time.Sleep(5 * heapSampleEvery)
	runtime.KeepAlive(b)
	runtime.GC()
	// The rest of the process's heap moves a little meanwhile.
	if got := peak.stop(); got < size-size/16 {
		t.Errorf("peak %d B above the base; want about the %d B held for a while", got, size)
	}
	if n := harnessGoroutines.Load(); n != 0 {
		t.Errorf("%d harness goroutines left after stop", n)
	}
}

func TestHoldLeavesOutTheBaselineAndTheHarness(t *testing.T) {
	p := &phase{base: takeBaseline()}
	quit := make(chan struct{})
	ended := make(chan struct{}, 5)
	for range 2 {
		goHarness(func() { <-quit; ended <- struct{}{} })
	}
	for range 3 { // the client's
		go func() { <-quit; ended <- struct{}{} }()
	}
	held := make([]byte, 8<<20)
	p.hold(0)
	runtime.KeepAlive(held)
	close(quit)
	for range 5 {
		<-ended
	}
	if !p.footprint || p.goroutines != 3 {
		t.Errorf("goroutines %v (recorded %v); want the client's 3, not the harness's 2", p.goroutines, p.footprint)
	}
	// The rest of the process's heap moves a little between the two
	// readings.
	if p.heap < 7<<20 || p.heap > 9<<20 {
		t.Errorf("heap %v B; want the 8 MiB held, ± 1 MiB", p.heap)
	}
}

// After warmGoroutines(n), n goroutines more cost the heap next to nothing:
// their descriptors are the warm-up's, reused.
func TestWarmGoroutinesPaysForTheDescriptorsBeforehand(t *testing.T) {
	const n = 10000
	before := runtime.NumGoroutine()
	warmGoroutines(n)
	if got := runtime.NumGoroutine(); got > before {
		t.Fatalf("%d goroutines after the warm-up, %d before", got, before)
	}
	base := takeBaseline()
	release := make(chan struct{})
	ended := make(chan struct{}, n)
	for range n {
		go func() { <-release; ended <- struct{}{} }()
	}
	collectAll()
	grew := float64(newHeapReader().inuse()) - float64(base.heap)
	close(release)
	for range n {
		<-ended
	}
	// Without the warm-up, they grow it by some 6 MB (some 500 B each for
	// their descriptors); with it, by their closures and some 1 MB in all.
	if grew > n*250 {
		t.Errorf("%d goroutines after the warm-up grew the heap by %.0f B; want their descriptors reused", n, grew)
	}
}

func TestRatioIsMissingUnlessBothAreAboveZero(t *testing.T) {
	if got := ratio(3, 2); got != 1.5 {
		t.Errorf("ratio(3, 2) = %v, want 1.5", got)
	}
	for _, c := range [][2]float64{{0, 2}, {2, 0}, {-1, 2}, {2, -1}, {math.NaN(), 2}, {2, math.NaN()}} {
		if got := ratio(c[0], c[1]); !math.IsNaN(got) || fmtRatio(got) != "n/a" {
			t.Errorf("ratio(%v, %v) = %v (%s), want NaN (n/a)", c[0], c[1], got, fmtRatio(got))
		}
	}
}
