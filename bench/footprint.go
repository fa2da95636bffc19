package main

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// The scale workloads report what a client holds, not only what it spends:
// the heap it keeps in use and the goroutines it runs. Both are read from
// the whole process, so the harness's own share is kept out: the baseline
// is taken before the client exists, and the goroutines the harness runs
// meanwhile (the adapters' readers, the heap sampler) are counted apart.

// harnessGoroutines counts the goroutines the harness itself runs while a
// client is measured: one per watcher or per lease in the library adapters
// (the channel readers a program would have too, but not the client's), and
// the heap sampler. The goroutine figure leaves them out.
var harnessGoroutines atomic.Int64

// goHarness runs f on a goroutine counted in harnessGoroutines. The
// channel it returns is closed once f has returned and the goroutine is no
// longer counted.
func goHarness(f func()) <-chan struct{} {
	done := make(chan struct{})
	harnessGoroutines.Add(1)
	go func() {
		defer close(done) // after the decrement: a waiter sees the count without f
		defer harnessGoroutines.Add(-1)
		f()
	}()
	return done
}

// warmGoroutines starts n goroutines, waits until all of them are parked,
// and ends them, before the first phase of a workload whose clients hold
// many goroutines. The runtime never frees a goroutine's descriptor: an
// ended goroutine's is kept, in the heap, for the next goroutine to reuse.
// So the first phase to reach a goroutine count pays the heap of the
// descriptors (some 5 MB per 10,000 goroutines), and every later phase,
// of any client, reuses them for free; etcdkit runs first and would carry
// the cost for every client. Warmed up, the pool holds the descriptors
// beforehand, every phase's baseline includes them, and every client is
// measured alike.
func warmGoroutines(n int) {
	before := runtime.NumGoroutine()
	var parked, ended sync.WaitGroup
	release := make(chan struct{})
	parked.Add(n)
	ended.Add(n)
	for range n {
		go func() {
			defer ended.Done()
			parked.Done()
			<-release
		}()
	}
	parked.Wait()
	close(release)
	ended.Wait()
	quiesce(before, clientLinger) // until they have exited, not only said so
}

// heapMetrics are the runtime/metrics that add up to MemStats.HeapInuse
// (the bytes in spans holding heap objects, used or free), read without
// stopping the world as ReadMemStats does.
var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

// heapReader reads the heap in use; it does not allocate once made.
type heapReader struct{ samples []metrics.Sample }

func newHeapReader() *heapReader {
	r := &heapReader{samples: make([]metrics.Sample, len(heapMetrics))}
	for i, name := range heapMetrics {
		r.samples[i].Name = name
	}
	return r
}

func (r *heapReader) inuse() uint64 {
	metrics.Read(r.samples)
	var sum uint64
	for _, s := range r.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			sum += s.Value.Uint64()
		}
	}
	return sum
}

// baseline is what the process holds before a client is created.
type baseline struct {
	heap       uint64
	goroutines int
}

// takeBaseline collects the garbage first, so that the baseline is what is
// live, as the figure it is subtracted from will be.
func takeBaseline() baseline {
	collectAll()
	return baseline{heap: newHeapReader().inuse(), goroutines: runtime.NumGoroutine()}
}

// collectAll collects the garbage twice: the first collection only moves
// what sync.Pools hold to their victim caches, the second frees it. Once
// is not enough for a baseline, which would then count the buffers an
// earlier client left in grpc-go's pools.
func collectAll() {
	runtime.GC()
	runtime.GC()
}

// hold records, outside the measured window and while the client still
// holds everything the workload gave it, the heap in use after collecting
// the garbage (pooled buffers freed, as for the baseline) and the
// goroutines, beyond the phase's baseline. harnessHeap is
// what the workload itself keeps live at that moment (a buffer it records
// into, say), left out of the heap figure.
func (p *phase) hold(harnessHeap uint64) {
	collectAll()
	heap := float64(newHeapReader().inuse()) - float64(p.base.heap) - float64(harnessHeap)
	goroutines := runtime.NumGoroutine() - p.base.goroutines - int(harnessGoroutines.Load())
	p.setFootprint(heap, float64(goroutines))
}

func (p *phase) setFootprint(heap, goroutines float64) {
	p.footprint = true
	p.heap = heap
	p.goroutines = goroutines
}

// heapPeak samples the heap in use every interval from begin to stop and
// keeps the largest value: the peak a large read reaches, which one reading
// after the read would miss (the collector may have run).
type heapPeak struct {
	r      *heapReader
	ticker *time.Ticker
	base   uint64
	// peak is written by the sampler only, and read by stop once the
	// sampler has ended.
	peak  uint64
	begun chan struct{}
	quit  chan struct{}
	ended <-chan struct{}
}

// heapSampleEvery is how often heapPeak samples: a peak shorter than this
// can be missed, a read of a large range is far longer.
const heapSampleEvery = 5 * time.Millisecond

// newHeapPeak makes a sampler and parks it until begin: everything it
// allocates (its goroutine, its reader, its ticker) is allocated before the
// caller collects the garbage and calls begin, so it is in the base, not
// in the peak.
func newHeapPeak() *heapPeak {
	h := &heapPeak{r: newHeapReader(), ticker: time.NewTicker(heapSampleEvery),
		begun: make(chan struct{}), quit: make(chan struct{})}
	h.ticker.Stop() // until begin
	h.ended = goHarness(func() {
		defer h.ticker.Stop()
		select {
		case <-h.begun:
		case <-h.quit: // stopped before it began
			return
		}
		for {
			select {
			case <-h.quit:
				return
			case <-h.ticker.C:
				h.sample()
			}
		}
	})
	return h
}

// begin takes the heap in use now as the base the peak is measured from
// (the caller collects the garbage first) and starts sampling. It does not
// allocate.
func (h *heapPeak) begin() {
	h.base = h.r.inuse()
	h.peak = h.base
	h.ticker.Reset(heapSampleEvery)
	close(h.begun) // hands the reader and peak over to the sampler
}

func (h *heapPeak) sample() { h.peak = max(h.peak, h.r.inuse()) }

// stop samples once more, ends the sampler and returns the peak above the
// base (0 if the heap never grew). begin must have been called.
func (h *heapPeak) stop() uint64 {
	close(h.quit)
	<-h.ended
	h.sample() // after the sampler has ended: the reader is not shared
	return h.peak - h.base
}
