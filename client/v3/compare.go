package clientv3

import (
	"errors"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// CompareTarget names the key attribute a comparison looks at.
type CompareTarget int

// CompareResult names the relation a comparison tests.
type CompareResult int

// Comparison targets.
const (
	CompareVersion CompareTarget = iota
	CompareCreated
	CompareModified
	CompareValue
)

// Cmp is one condition of a transaction: an attribute of a key (or of every
// key in a range) compared with a value. Build it with Value, Version,
// CreateRevision, ModRevision or LeaseValue, then Compare.
type Cmp struct {
	target   pb.Compare_CompareTarget
	result   pb.Compare_CompareResult
	key      []byte
	rangeEnd []byte
	value    []byte // for the VALUE target
	num      int64  // for VERSION, CREATE, MOD and LEASE targets

	// err records a comparison the server could not understand; the
	// transaction that carries it fails with err instead of being sent.
	err error
}

// Compare completes cmp with a relation ("=", "!=", ">" or "<") and the
// value to compare with: a string for Value, an int or int64 for Version,
// CreateRevision and ModRevision, an int, int64 or LeaseID for LeaseValue.
// A relation or value of the wrong kind makes the transaction fail.
func Compare(cmp Cmp, result string, v any) Cmp {
	switch result {
	case "=":
		cmp.result = pb.Compare_EQUAL
	case "!=":
		cmp.result = pb.Compare_NOT_EQUAL
	case ">":
		cmp.result = pb.Compare_GREATER
	case "<":
		cmp.result = pb.Compare_LESS
	default:
		cmp.setErr(fmt.Errorf("etcdclient: unknown comparison %q (want =, !=, > or <)", result))
	}

	switch cmp.target {
	case pb.Compare_VALUE:
		s, ok := v.(string)
		if !ok {
			cmp.setErr(fmt.Errorf("etcdclient: Value comparison needs a string, got %T", v))
		}
		cmp.value = []byte(s)
	case pb.Compare_VERSION, pb.Compare_CREATE, pb.Compare_MOD:
		cmp.num = cmp.int64Of(v, false)
	case pb.Compare_LEASE:
		cmp.num = cmp.int64Of(v, true)
	default:
		cmp.setErr(fmt.Errorf("etcdclient: unknown comparison target %v", cmp.target))
	}
	return cmp
}

func (cmp *Cmp) int64Of(v any, leaseOK bool) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case LeaseID:
		if leaseOK {
			return int64(n)
		}
	}
	cmp.setErr(fmt.Errorf("etcdclient: %v comparison needs an integer, got %T", cmp.target, v))
	return 0
}

func (cmp *Cmp) setErr(err error) {
	if cmp.err == nil {
		cmp.err = err
	}
}

// Value starts a comparison of key's value.
func Value(key string) Cmp { return Cmp{key: []byte(key), target: pb.Compare_VALUE} }

// Version starts a comparison of key's version (0 for a missing key).
func Version(key string) Cmp { return Cmp{key: []byte(key), target: pb.Compare_VERSION} }

// CreateRevision starts a comparison of the revision that created key
// (0 for a missing key).
func CreateRevision(key string) Cmp { return Cmp{key: []byte(key), target: pb.Compare_CREATE} }

// ModRevision starts a comparison of the revision that last modified key
// (0 for a missing key).
func ModRevision(key string) Cmp { return Cmp{key: []byte(key), target: pb.Compare_MOD} }

// LeaseValue starts a comparison of the lease attached to key; a key
// without a lease has NoLease (0).
func LeaseValue(key string) Cmp { return Cmp{key: []byte(key), target: pb.Compare_LEASE} }

// FromCompare converts a wire comparison into a Cmp.
func FromCompare(c *pb.Compare) Cmp {
	if c == nil {
		return Cmp{err: errors.New("etcdclient: nil comparison")}
	}
	cmp := Cmp{
		target:   c.GetTarget(),
		result:   c.GetResult(),
		key:      c.GetKey(),
		rangeEnd: c.GetRangeEnd(),
	}
	switch u := c.GetTargetUnion().(type) {
	case *pb.Compare_Value:
		cmp.value = u.Value
	case *pb.Compare_Version:
		cmp.num = u.Version
	case *pb.Compare_CreateRevision:
		cmp.num = u.CreateRevision
	case *pb.Compare_ModRevision:
		cmp.num = u.ModRevision
	case *pb.Compare_Lease:
		cmp.num = u.Lease
	}
	return cmp
}

// GetCompare returns the wire form of cmp. The result is a fresh message:
// changing it does not change cmp.
func (cmp *Cmp) GetCompare() *pb.Compare {
	c := &pb.Compare{Result: cmp.result, Target: cmp.target, Key: cmp.key, RangeEnd: cmp.rangeEnd}
	switch cmp.target {
	case pb.Compare_VALUE:
		c.TargetUnion = &pb.Compare_Value{Value: cmp.value}
	case pb.Compare_VERSION:
		c.TargetUnion = &pb.Compare_Version{Version: cmp.num}
	case pb.Compare_CREATE:
		c.TargetUnion = &pb.Compare_CreateRevision{CreateRevision: cmp.num}
	case pb.Compare_MOD:
		c.TargetUnion = &pb.Compare_ModRevision{ModRevision: cmp.num}
	case pb.Compare_LEASE:
		c.TargetUnion = &pb.Compare_Lease{Lease: cmp.num}
	}
	return c
}

// KeyBytes returns the key cmp looks at.
func (cmp *Cmp) KeyBytes() []byte { return cmp.key }

// WithKeyBytes sets the key cmp looks at.
func (cmp *Cmp) WithKeyBytes(key []byte) { cmp.key = key }

// ValueBytes returns the value a Value comparison compares with, nil for
// other comparisons.
func (cmp *Cmp) ValueBytes() []byte {
	if cmp.target == pb.Compare_VALUE {
		return cmp.value
	}
	return nil
}

// WithValueBytes sets the value a Value comparison compares with.
func (cmp *Cmp) WithValueBytes(v []byte) {
	cmp.target = pb.Compare_VALUE
	cmp.value = v
}

// WithRange returns cmp applied to every key in [key, end).
func (cmp Cmp) WithRange(end string) Cmp {
	cmp.rangeEnd = []byte(end)
	return cmp
}

// WithPrefix returns cmp applied to every key that starts with its key.
func (cmp Cmp) WithPrefix() Cmp {
	if len(cmp.key) == 0 {
		cmp.key, cmp.rangeEnd = []byte{0}, []byte{0}
		return cmp
	}
	cmp.rangeEnd = prefixEnd(cmp.key)
	return cmp
}

// Clone returns a copy of cmp that shares no memory with it.
func (cmp *Cmp) Clone() Cmp {
	c := *cmp
	c.key = cloneBytes(cmp.key)
	c.rangeEnd = cloneBytes(cmp.rangeEnd)
	c.value = cloneBytes(cmp.value)
	return c
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
