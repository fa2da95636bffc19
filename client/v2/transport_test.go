package client

import (
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// netHTTPDefaultsTransport has the settings of the official client's
// DefaultTransport, which keeps net/http's default of two idle connections
// per host.
func netHTTPDefaultsTransport() *http.Transport {
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// concurrentGets runs workers goroutines that each make perCall Gets on one
// member through tr, and returns how many connections were dialled.
func concurrentGets(tb testing.TB, tr *http.Transport, workers, perWorker int) int64 {
	tb.Helper()
	defer tr.CloseIdleConnections()
	c, err := New(Config{Endpoints: shared.ClientURLs()[:1], Transport: tr})
	if err != nil {
		tb.Fatal(err)
	}
	k := NewKeysAPI(c)
	var dials atomic.Int64
	ctx := httptrace.WithClientTrace(testCtx(tb), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if !info.Reused {
				dials.Add(1)
			}
		},
	})
	if _, err := k.Set(ctx, key(tb, "k"), "v", nil); err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				if _, err := k.Get(ctx, key(tb, "k"), nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return dials.Load()
}

func TestDefaultTransportReusesConnectionsUnderConcurrency(t *testing.T) {
	const workers, perWorker = 32, 30
	ours := concurrentGets(t, DefaultTransport.(*http.Transport).Clone(), workers, perWorker)
	theirs := concurrentGets(t, netHTTPDefaultsTransport(), workers, perWorker)
	t.Logf("%d workers x %d Gets: DefaultTransport dialled %d connections, net/http's defaults %d", workers, perWorker, ours, theirs)
	// Each worker holds one connection at a time; a few more may be
	// dialled while others are being returned, but none is thrown away.
	if ours > 2*workers {
		t.Fatalf("DefaultTransport dialled %d connections for %d workers, want at most %d", ours, workers, 2*workers)
	}
}

// BenchmarkConcurrentGetDials reports the connections dialled per Get under
// concurrency: net/http's default of two idle connections per host makes
// nearly every Get dial.
func BenchmarkConcurrentGetDials(b *testing.B) {
	for _, tc := range []struct {
		name string
		tr   func() *http.Transport
	}{
		{"DefaultTransport", func() *http.Transport { return DefaultTransport.(*http.Transport).Clone() }},
		{"netHTTPDefaults", netHTTPDefaultsTransport},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const workers = 32
			per := max(b.N/workers, 1)
			dials := concurrentGets(b, tc.tr(), workers, per)
			b.ReportMetric(float64(dials)/float64(workers*per), "dials/op")
		})
	}
}

func BenchmarkGet(b *testing.B) {
	c, _ := newClient(b, shared.ClientURLs()[:1], Config{})
	k := NewKeysAPI(c)
	ctx := testCtx(b)
	if _, err := k.Set(ctx, key(b, "k"), "v", nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Get(ctx, key(b, "k"), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSet(b *testing.B) {
	c, _ := newClient(b, shared.ClientURLs()[:1], Config{HeaderTimeoutPerRequest: time.Second})
	k := NewKeysAPI(c)
	ctx := testCtx(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Set(ctx, key(b, "k"), "v", nil); err != nil {
			b.Fatal(err)
		}
	}
}
