package main

import (
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesAreWithinThreePercent(t *testing.T) {
	var h histogram
	for i := 1; i <= 10000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.99, 9900 * time.Microsecond}, {0, time.Microsecond}} {
		got := h.quantile(c.q)
		if diff := float64(got-c.want) / float64(c.want); diff > 0.03 || diff < -0.03 {
			t.Errorf("quantile(%v) = %v, want %v ± 3%%", c.q, got, c.want)
		}
	}
}

func TestHistogramBucketsAreContiguous(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<16; v++ {
		b := bucketOf(v)
		if b != prev && b != prev+1 {
			t.Fatalf("value %d falls in bucket %d after bucket %d", v, b, prev)
		}
		if mid := bucketMid(b); bucketOf(mid) != b {
			t.Fatalf("bucket %d's middle %d falls in bucket %d", b, mid, bucketOf(mid))
		}
		prev = b
	}
	if b := bucketOf(^uint64(0)); b >= len(histogram{}.counts) {
		t.Fatalf("the largest value falls in bucket %d, beyond %d", b, len(histogram{}.counts))
	}
}

func TestMedianOfEvenAndOddCounts(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v, want 2", got)
	}
	if got := median([]float64{4, 1}); got != 2.5 {
		t.Errorf("median(4,1) = %v, want 2.5", got)
	}
}

func TestEachRoundStartsWithTheNextClient(t *testing.T) {
	names := []string{"a", "b", "c"}
	want := [][]string{{"a", "b", "c"}, {"b", "c", "a"}, {"c", "a", "b"}, {"a", "b", "c"}}
	for r, w := range want {
		if got := roundOrder(names, r); !slices.Equal(got, w) {
			t.Errorf("round %d runs %v, want %v", r, got, w)
		}
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("roundOrder changed its argument: %v", names)
	}
}
