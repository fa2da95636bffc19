package snapshot

import (
	"crypto/sha256"
	"errors"
	"io"
	"testing"
)

// writeInChunks writes data through a digestChecker in chunks of size n.
func writeInChunks(data []byte, n int) *digestChecker {
	d := newDigestChecker(io.Discard)
	for len(data) > 0 {
		k := min(n, len(data))
		d.Write(data[:k])
		data = data[k:]
	}
	return d
}

func TestDigestCheckerAcceptsAnyChunking(t *testing.T) {
	body := make([]byte, 1000)
	for i := range body {
		body[i] = byte(i * 7)
	}
	sum := sha256.Sum256(body)
	data := append(append([]byte{}, body...), sum[:]...)
	for _, n := range []int{1, 5, 31, 32, 33, 100, 2000} {
		if err := writeInChunks(data, n).verify(); err != nil {
			t.Errorf("chunks of %d: verify = %v, want nil", n, err)
		}
	}
}

func TestDigestCheckerRejectsDamage(t *testing.T) {
	body := []byte("some database pages")
	sum := sha256.Sum256(body)
	data := append(append([]byte{}, body...), sum[:]...)
	data[3] ^= 1
	for _, n := range []int{1, 7, 64} {
		if err := writeInChunks(data, n).verify(); !errors.Is(err, errBadDigest) {
			t.Errorf("chunks of %d: verify = %v, want errBadDigest", n, err)
		}
	}
}

func TestDigestCheckerRejectsShortInput(t *testing.T) {
	if err := writeInChunks([]byte("short"), 2).verify(); err == nil {
		t.Error("verify of 5 bytes = nil, want an error")
	}
}
