package snapshot

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
)

const digestSize = sha256.Size

// hasDigest reports whether a snapshot of size bytes has room for its
// trailing digest: the database is a whole number of 512-byte sectors (the
// smallest disk sector, which divides the page size), the digest follows.
// It is the official client's only check of a snapshot.
func hasDigest(size int64) bool { return size%512 == digestSize }

// errBadDigest reports a snapshot whose trailing digest does not match
// its contents: it was damaged in transit or on the server.
var errBadDigest = errors.New("snapshot: SHA-256 digest mismatch; the snapshot is corrupt")

// digestChecker passes bytes through to w while hashing all but the last
// digestSize bytes seen, which it keeps: an etcd snapshot ends with the
// SHA-256 of everything before it.
type digestChecker struct {
	w    io.Writer
	h    hash.Hash
	tail [digestSize]byte
	n    int // bytes held in tail
}

func newDigestChecker(w io.Writer) *digestChecker {
	return &digestChecker{w: w, h: sha256.New()}
}

func (d *digestChecker) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err != nil {
		return n, err
	}
	if len(p) >= digestSize {
		d.h.Write(d.tail[:d.n])
		d.h.Write(p[:len(p)-digestSize])
		d.n = copy(d.tail[:], p[len(p)-digestSize:])
		return n, nil
	}
	if excess := d.n + len(p) - digestSize; excess > 0 {
		d.h.Write(d.tail[:excess])
		d.n = copy(d.tail[:], d.tail[excess:d.n])
	}
	d.n += copy(d.tail[d.n:], p)
	return n, nil
}

// verify reports whether the bytes written end with the digest of the
// bytes before them.
func (d *digestChecker) verify() error {
	if d.n < digestSize {
		return errors.New("snapshot: too short to hold its SHA-256 digest")
	}
	if !bytes.Equal(d.h.Sum(nil), d.tail[:]) {
		return errBadDigest
	}
	return nil
}
