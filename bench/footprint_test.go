package main

import (
	"runtime"
	"testing"
	"time"
)

func TestHeapPeakSeesAnAllocationGoneByTheEnd(t *testing.T) {
	const size = 64 << 20
	runtime.GC()
	peak := startHeapPeak()
	b := make([]byte, size)
	for i := range b {
		b[i] = 1 // in use, not only reserved
	}
	time.Sleep(5 * heapSampleEvery)
	runtime.KeepAlive(b)
	b = nil
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
