package client

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// This file is a fast path for decoding keys API bodies, whose schema is
// fixed and small, so that a reply costs one pass over its bytes and a few
// allocations instead of encoding/json's validation pass, reflection and one
// allocation per string and node.
//
// The contract: when a fast decoder reports ok, its result is exactly what
// json.Unmarshal would produce into the same type, and json.Unmarshal would
// succeed. Whenever the body is anything but the plain shape etcd sends (a
// syntax error, an unknown or duplicate or differently cased field name, a
// number that is not a plain integer, invalid UTF-8, a null inside nodes,
// very deep nesting, ...) it reports false and the caller decodes with
// encoding/json, which then decides. Rare inputs therefore keep
// encoding/json's behaviour by construction rather than by imitation.
//
// Strings without escapes are substrings of one copy of the body (or of the
// body itself, when the caller gives it away), so a decoded Response keeps
// that copy alive as long as any of its strings is.

// maxFastDepth bounds the nesting of nodes the fast path follows; deeper
// bodies (which etcd does not send) go to encoding/json.
const maxFastDepth = 256

// keysDecoder scans one body. Its scratch holds the children of the
// directories being decoded, one level after another, so that each level's
// nodes end up in one allocation of exactly the right size.
type keysDecoder struct {
	s       string
	i       int
	scratch []Node
	slab    []byte // unescaped strings (see unescape)
}

// scratchPool keeps decoders' scratch space between replies.
var scratchPool = sync.Pool{New: func() any { return new([]Node) }}

// maxPooledScratch keeps one huge directory from pinning its scratch space.
const maxPooledScratch = 4096

// decodeResponseFast decodes a keys API success body into a new Response.
// When owned, body is never written again, and the Response's strings point
// into it rather than into a copy.
func decodeResponseFast(body []byte, owned bool) (*Response, bool) {
	sp := scratchPool.Get().(*[]Node)
	s := unsafe.String(unsafe.SliceData(body), len(body))
	if !owned {
		s = string(body)
	}
	d := keysDecoder{s: s, scratch: (*sp)[:0]}
	defer func() {
		// nodes cleared what it used, so the pool keeps no strings.
		if cap(d.scratch) <= maxPooledScratch {
			*sp = d.scratch[:0]
			scratchPool.Put(sp)
		}
	}()
	// Response and its node and previous node in one allocation: they
	// are used, and become garbage, together.
	blk := new(struct {
		r Response
		n [2]Node
	})
	if !d.response(&blk.r, &blk.n) || !d.end() {
		return nil, false
	}
	return &blk.r, true
}

// decodeErrorFast decodes a keys API error body.
func decodeErrorFast(body []byte) (Error, bool) {
	d := keysDecoder{s: string(body)}
	var e Error
	if !d.errorBody(&e) || !d.end() {
		return Error{}, false
	}
	return e, true
}

func (d *keysDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end (0 is never valid there).
func (d *keysDecoder) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// end reports whether only whitespace is left.
func (d *keysDecoder) end() bool {
	d.ws()
	return d.i == len(d.s)
}

// literal consumes lit if it comes next.
func (d *keysDecoder) literal(lit string) bool {
	if strings.HasPrefix(d.s[d.i:], lit) {
		d.i += len(lit)
		return true
	}
	return false
}

// null consumes a null if it comes next.
func (d *keysDecoder) null() bool { return d.peek() == 'n' && d.literal("null") }

// rawString scans a string literal at d.i and returns its contents as they
// are in the body, whether they hold an escape, and whether they hold a
// byte that is not ASCII.
func (d *keysDecoder) rawString() (raw string, esc, nonASCII, ok bool) {
	if d.peek() != '"' {
		return "", false, false, false
	}
	start := d.i + 1
	s := d.s
	for i := start; i < len(s); i++ {
		// Most bytes need no look beyond this table, and long runs of
		// them (values) are skipped a word at a time.
		for i+8 <= len(s) && !hasSpecialByte(load64(s, i)) {
			i += 8
		}
		for i < len(s) && plainByte[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return s[start:i], esc, nonASCII, true
		case c < 0x20:
			return "", false, false, false
		case c >= 0x80:
			nonASCII = true
		case c == '\\':
			esc = true
			i++
			if i >= len(s) {
				return "", false, false, false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) || hex4(s[i+1:i+5]) < 0 {
					return "", false, false, false
				}
				i += 4
			default:
				return "", false, false, false
			}
		}
	}
	return "", false, false, false
}

// plainByte tells the bytes that a string literal holds as they are: ASCII
// other than controls, quote and backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// load64 returns the 8 bytes of s at i as a little-endian word.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hasSpecialByte reports whether any byte of w is one that plainByte
// rejects: a control, a quote, a backslash or a non-ASCII byte. Each term
// sets a byte's high bit for bytes that are zero after the XOR, or below
// 0x20; a borrow can only start at a byte that matches, so the test is exact
// for the word as a whole.
func hasSpecialByte(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := w ^ (lo * '"')
	b := w ^ (lo * '\\')
	return ((q-lo)&^q|(b-lo)&^b|(w-lo*0x20)|w)&hi != 0
}

// str decodes a string literal.
func (d *keysDecoder) str() (string, bool) {
	raw, esc, nonASCII, ok := d.rawString()
	if !ok {
		return "", false
	}
	// encoding/json replaces invalid UTF-8; leave that to it.
	if nonASCII && !utf8.ValidString(raw) {
		return "", false
	}
	if !esc {
		return raw, true
	}
	return d.unescape(raw), true
}

// slabSize is the first size of the space unescaped strings share.
const slabSize = 4 << 10

// unescape decodes raw into the decoder's slab and returns the result,
// which points into it: one allocation per slab rather than per string. A
// decoded string is never longer than its literal, so appending within
// the slab's capacity never moves what earlier strings point to.
func (d *keysDecoder) unescape(raw string) string {
	if cap(d.slab)-len(d.slab) < len(raw) {
		d.slab = make([]byte, 0, max(len(raw), min(2*cap(d.slab), 1<<20), slabSize))
	}
	start := len(d.slab)
	d.slab = appendUnescaped(d.slab, raw)
	out := d.slab[start:]
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// key decodes an object key and the colon after it. Only keys spelled
// exactly as a field name are of use to the fast path, so any escape or
// non-ASCII byte fails.
func (d *keysDecoder) key() (string, bool) {
	raw, esc, nonASCII, ok := d.rawString()
	if !ok || esc || nonASCII {
		return "", false
	}
	d.ws()
	if d.peek() != ':' {
		return "", false
	}
	d.i++
	d.ws()
	return raw, true
}

// digits returns the run of a JSON integer without sign at d.i, failing on
// a fraction or exponent (which encoding/json rejects for integer fields)
// and on a leading zero (which is not JSON).
func (d *keysDecoder) digits() (string, bool) {
	start := d.i
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
	}
	n := d.s[start:d.i]
	if n == "" || (n[0] == '0' && len(n) > 1) {
		return "", false
	}
	switch d.peek() {
	case '.', 'e', 'E':
		return "", false
	}
	return n, true
}

func (d *keysDecoder) uint() (uint64, bool) {
	n, ok := d.digits()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(n, 10, 64)
	return v, err == nil
}

func (d *keysDecoder) int() (int64, bool) {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	if _, ok := d.digits(); !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(d.s[start:d.i], 10, 64)
	return v, err == nil
}

// object scans an object at d.i, calling field for each member with d.i at
// its value; field consumes the value. Names must be distinct: seen
// records them, by the bit field returns for each (0 fails).
func (d *keysDecoder) object(field func(name string) (bit uint, ok bool)) bool {
	if d.peek() != '{' {
		return false
	}
	d.i++
	d.ws()
	if d.peek() == '}' {
		d.i++
		return true
	}
	var seen uint
	for {
		name, ok := d.key()
		if !ok {
			return false
		}
		bit, ok := field(name)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// strField decodes a string field's value into dst; null leaves it.
func (d *keysDecoder) strField(dst *string) bool {
	if d.null() {
		return true
	}
	s, ok := d.str()
	*dst = s
	return ok
}

func (d *keysDecoder) response(r *Response, spare *[2]Node) bool {
	return d.object(func(name string) (uint, bool) {
		switch name {
		case "action":
			return 1, d.strField(&r.Action)
		case "node":
			return 2, d.nodePtr(&r.Node, &spare[0], 0)
		case "prevNode":
			return 4, d.nodePtr(&r.PrevNode, &spare[1], 0)
		}
		return 0, false
	})
}

// nodePtr decodes a node object into n and points dst at it, or leaves dst
// nil for null.
func (d *keysDecoder) nodePtr(dst **Node, n *Node, depth int) bool {
	if d.null() {
		return true
	}
	if !d.node(n, depth) {
		return false
	}
	*dst = n
	return true
}

func (d *keysDecoder) node(n *Node, depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	return d.object(func(name string) (uint, bool) {
		switch name {
		case "key":
			return 1, d.strField(&n.Key)
		case "value":
			return 2, d.strField(&n.Value)
		case "dir":
			switch {
			case d.literal("true"):
				n.Dir = true
			case d.literal("false"), d.null():
			default:
				return 0, false
			}
			return 4, true
		case "nodes":
			if d.null() {
				return 8, true
			}
			var ok bool
			n.Nodes, ok = d.nodes(depth + 1)
			return 8, ok
		case "createdIndex":
			if d.null() {
				return 16, true
			}
			var ok bool
			n.CreatedIndex, ok = d.uint()
			return 16, ok
		case "modifiedIndex":
			if d.null() {
				return 32, true
			}
			var ok bool
			n.ModifiedIndex, ok = d.uint()
			return 32, ok
		case "ttl":
			if d.null() {
				return 64, true
			}
			var ok bool
			n.TTL, ok = d.int()
			return 64, ok
		case "expiration":
			if d.null() {
				return 128, true
			}
			start := d.i
			if _, _, _, ok := d.rawString(); !ok {
				return 0, false
			}
			// encoding/json hands the literal, quotes included, to
			// time.Time's UnmarshalJSON; so does the fast path.
			t := new(time.Time)
			if t.UnmarshalJSON([]byte(d.s[start:d.i])) != nil {
				return 0, false
			}
			n.Expiration = t
			return 128, true
		}
		return 0, false
	})
}

// nodes decodes an array of node objects. The children go to d.scratch
// while they are decoded (their own children use it above them), then move
// to one slice of the exact length.
func (d *keysDecoder) nodes(depth int) (Nodes, bool) {
	if d.peek() != '[' {
		return nil, false
	}
	d.i++
	d.ws()
	if d.peek() == ']' {
		d.i++
		return Nodes{}, true
	}
	base := len(d.scratch)
	defer func() {
		clear(d.scratch[base:])
		d.scratch = d.scratch[:base]
	}()
	for {
		var n Node
		if !d.node(&n, depth) {
			return nil, false
		}
		d.scratch = append(d.scratch, n)
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
			continue
		case ']':
			d.i++
		default:
			return nil, false
		}
		break
	}
	vals := make([]Node, len(d.scratch)-base)
	copy(vals, d.scratch[base:])
	ns := make(Nodes, len(vals))
	for i := range vals {
		ns[i] = &vals[i]
	}
	return ns, true
}

func (d *keysDecoder) errorBody(e *Error) bool {
	return d.object(func(name string) (uint, bool) {
		switch name {
		case "errorCode":
			if d.null() {
				return 1, true
			}
			v, ok := d.int()
			e.Code = int(v)
			return 1, ok && int64(e.Code) == v
		case "message":
			return 2, d.strField(&e.Message)
		case "cause":
			return 4, d.strField(&e.Cause)
		case "index":
			if d.null() {
				return 8, true
			}
			var ok bool
			e.Index, ok = d.uint()
			return 8, ok
		}
		return 0, false
	})
}

// hex4 returns the value of four hex digits, or -1.
func hex4(s string) rune {
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// appendUnescaped appends the contents of a string literal that rawString
// accepted to b, decoded the way encoding/json does: a \u escape of a lone
// or mismatched surrogate becomes U+FFFD, a valid pair one rune.
func appendUnescaped(b []byte, raw string) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := strings.IndexByte(raw[i:], '\\')
			if j < 0 {
				j = len(raw) - i
			}
			b = append(b, raw[i:i+j]...)
			i += j
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(raw[i+1 : i+5])
			i += 5
			if r < utf8.RuneSelf {
				b = append(b, byte(r))
				continue
			}
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2 := hex4(raw[i+2 : i+6]); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // '"', '\\', '/'
			b = append(b, raw[i])
		}
		i++
	}
	return b
}
