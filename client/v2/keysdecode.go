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
// Decoded strings are stored in slabs that the strings of one reply share
// (a few allocations per reply, not one per string), sized as the reply
// goes from what it has needed so far. When the caller gives the body away,
// strings without escapes are substrings of it instead. Either way a
// decoded Response keeps what its strings point into alive as long as any
// of them is.

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
	// owned is set when s is a body given away, which strings may
	// point into.
	owned bool
	// slab holds decoded strings (see room); slabbed counts the bytes
	// in the slabs before it.
	slab    []byte
	slabbed int
}

// scratchPool keeps decoders' scratch space between replies.
var scratchPool = sync.Pool{New: func() any { return new([]Node) }}

// maxPooledScratch keeps one huge directory from pinning its scratch space.
const maxPooledScratch = 4096

// decodeResponseFast decodes a keys API success body into a new Response.
// When owned, body is never written again, and the Response's strings may
// point into it; otherwise they point into slabs of their own and body may
// be reused once decodeResponseFast returns.
func decodeResponseFast(body []byte, owned bool) (*Response, bool) {
	sp := scratchPool.Get().(*[]Node)
	d := keysDecoder{s: unsafe.String(unsafe.SliceData(body), len(body)), owned: owned, scratch: (*sp)[:0]}
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

// scanString scans the string literal at d.i up to its closing quote or
// its first backslash. It returns where the literal's contents start, the
// index of that quote or backslash (or -1 if the literal is malformed or
// unterminated before either), and whether the contents up to it hold a
// byte that is not ASCII.
func (d *keysDecoder) scanString() (start, at int, nonASCII bool) {
	if d.peek() != '"' {
		return 0, -1, false
	}
	start = d.i + 1
	s := d.s
	for i := scanPlain(s, start); i < len(s); i = scanPlain(s, i+1) {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			return start, i, nonASCII
		case c >= 0x80:
			nonASCII = true
		default: // a control byte
			return start, -1, false
		}
	}
	return start, -1, false
}

// rawString scans a string literal at d.i and returns its contents as they
// are in the body, failing on any escape (which no field name nor a plain
// timestamp holds), on a control byte and on invalid UTF-8.
func (d *keysDecoder) rawString() (string, bool) {
	start, at, nonASCII := d.scanString()
	if at < 0 || d.s[at] != '"' {
		return "", false
	}
	d.i = at + 1
	raw := d.s[start:at]
	return raw, !nonASCII || utf8.ValidString(raw)
}

// scanPlain returns the index of the first byte of s at or after i that a
// string literal does not hold as it is (see plainByte), or len(s). Long
// runs of plain bytes (values) are skipped a word at a time.
func scanPlain(s string, i int) int {
	for i+8 <= len(s) && !hasSpecialByte(load64(s, i)) {
		i += 8
	}
	for i < len(s) && plainByte[s[i]] {
		i++
	}
	return i
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

// str decodes a string literal. Without escapes it is a substring of the
// body; at the first escape, unescapeFrom takes over the same pass.
func (d *keysDecoder) str() (string, bool) {
	start, at, nonASCII := d.scanString()
	switch {
	case at < 0:
		return "", false
	case d.s[at] == '\\':
		return d.unescapeFrom(start, at, nonASCII)
	}
	raw := d.s[start:at]
	// encoding/json replaces invalid UTF-8; leave that to it.
	if nonASCII && !utf8.ValidString(raw) {
		return "", false
	}
	d.i = at + 1
	return d.keep(raw), true
}

// slabSize is the smallest slab, unless the rest of the body needs less.
const slabSize = 4 << 10

// keep returns raw, a substring of the body, as the decoded string: itself
// when the body is given away, else a copy in the slab.
func (d *keysDecoder) keep(raw string) string {
	if d.owned || raw == "" {
		return raw
	}
	d.room(len(d.slab), len(raw))
	out := len(d.slab)
	d.slab = append(d.slab, raw...)
	v := d.slab[out:]
	return unsafe.String(unsafe.SliceData(v), len(v))
}

// unescapeFrom decodes the string literal whose contents start at start,
// and whose first escape is at i, into the decoder's slab, and returns the
// result, which points into it: one allocation per slab rather than per
// string. It decodes the way encoding/json does: a \u escape of a lone or
// mismatched surrogate becomes U+FFFD, a valid pair one rune. Bytes already
// in the slab are never written again, so the strings earlier calls
// returned stay as they were when a full slab is replaced.
func (d *keysDecoder) unescapeFrom(start, i int, nonASCII bool) (string, bool) {
	s := d.s
	out := d.room(len(d.slab), i-start+utf8.UTFMax)
	b := append(d.slab, s[start:i]...)
	for i < len(s) {
		if cap(b)-len(b) < utf8.UTFMax {
			d.slab = b
			out = d.room(out, utf8.UTFMax)
			b = d.slab
		}
		switch c := s[i]; {
		case c == '\\':
			// \u00XX for an ASCII byte is how JSON spells a control
			// byte: the bulk of an escaped binary value.
			if i+6 <= len(s) && s[i+1] == 'u' && s[i+2] == '0' && s[i+3] == '0' {
				if hi, lo := hexDigit[s[i+4]], hexDigit[s[i+5]]; hi|lo >= 0 && hi < 8 {
					b = append(b, byte(hi)<<4|byte(lo))
					i += 6
					continue
				}
			}
			var ok bool
			if b, i, ok = appendEscape(b, s, i); !ok {
				return "", false
			}
		case c == '"':
			d.i, d.slab = i+1, b
			if nonASCII && !utf8.ValidString(s[start:i]) {
				return "", false
			}
			v := b[out:]
			return unsafe.String(unsafe.SliceData(v), len(v)), true
		case c >= 0x80:
			nonASCII = true
			b = append(b, c)
			i++
		case c < 0x20:
			return "", false
		default:
			j := scanPlain(s, i+1)
			if cap(b)-len(b) < j-i {
				d.slab = b
				out = d.room(out, j-i)
				b = d.slab
			}
			b = append(b, s[i:j]...)
			i = j
		}
	}
	return "", false
}

// room makes the slab able to take n more bytes, for the string whose
// literal starts at d.i and whose decoded bytes so far start at out; it
// returns where they start after the call. A new slab is sized for the rest
// of the body from what the body so far needed (a listing's nodes are
// alike), never for more than the rest of the body can decode to, as no
// string is longer decoded than in its literal. Only the string being
// decoded moves to it: the strings in the old slab stay where they are.
func (d *keysDecoder) room(out, n int) int {
	if cap(d.slab)-len(d.slab) >= n {
		return out
	}
	partial := d.slab[out:]
	d.slabbed += out
	rest := len(d.s) - d.i
	guess := int(int64(rest) * int64(d.slabbed) / int64(max(d.i, 1)))
	size := max(len(partial)+n, min(max(guess+guess/16, slabSize), rest))
	d.slab = append(make([]byte, 0, size), partial...)
	return 0
}

// appendEscape decodes the escape at s[i] (a backslash), appends it to b
// and returns the index after it. b has room for one rune.
func appendEscape(b []byte, s string, i int) ([]byte, int, bool) {
	if i+1 >= len(s) {
		return b, i, false
	}
	var c byte
	switch s[i+1] {
	case '"', '\\', '/':
		c = s[i+1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		if i+6 > len(s) {
			return b, i, false
		}
		r := hex4(s[i+2 : i+6])
		switch {
		case r < 0:
			return b, i, false
		case r < utf8.RuneSelf:
			return append(b, byte(r)), i + 6, true
		case !utf16.IsSurrogate(r):
			return utf8.AppendRune(b, r), i + 6, true
		}
		// A surrogate makes one rune with a \u escape of its pair right
		// after it; anything else leaves it alone, as U+FFFD.
		if i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
			if r2 := hex4(s[i+8 : i+12]); r2 >= 0 {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return utf8.AppendRune(b, dec), i + 12, true
				}
			}
		}
		return utf8.AppendRune(b, utf8.RuneError), i + 6, true
	default:
		return b, i, false
	}
	return append(b, c), i + 2, true
}

// key decodes an object key and the colon after it. Only keys spelled
// exactly as a field name are of use to the fast path, so an escape fails
// here and any other name in the caller's field switch.
func (d *keysDecoder) key() (string, bool) {
	raw, ok := d.rawString()
	if !ok {
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
			if _, ok := d.rawString(); !ok {
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
	a, b, c, d := hexDigit[s[0]], hexDigit[s[1]], hexDigit[s[2]], hexDigit[s[3]]
	if a|b|c|d < 0 {
		return -1
	}
	return rune(a)<<12 | rune(b)<<8 | rune(c)<<4 | rune(d)
}

// hexDigit holds each byte's value as a hex digit, or -1.
var hexDigit = func() (t [256]int8) {
	for c := range t {
		switch {
		case c >= '0' && c <= '9':
			t[c] = int8(c - '0')
		case c >= 'a' && c <= 'f':
			t[c] = int8(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			t[c] = int8(c - 'A' + 10)
		default:
			t[c] = -1
		}
	}
	return t
}()
