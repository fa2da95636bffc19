package clientv3

import (
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
//
// A Cmp refers to its wire message: copies of a Cmp share it, GetCompare
// returns it, and changing that message changes the Cmp, as with the
// official client. Compare, WithRange, WithPrefix and Clone return a Cmp
// with a message of its own, and Txn.If keeps copies of its comparisons.
type Cmp struct {
	c *pb.Compare

	// err records a comparison the server could not understand; the
	// transaction that carries it fails with err instead of being sent.
	err error
}

// Compare completes cmp with a relation ("=", "!=", ">" or "<") and the
// value to compare with: a string for Value, an int or int64 for Version,
// CreateRevision and ModRevision, an int, int64 or LeaseID for LeaseValue.
// A relation or value of the wrong kind makes the transaction fail.
func Compare(cmp Cmp, result string, v any) Cmp {
	cmp = cmp.copyMessage()
	c := cmp.GetCompare()
	switch result {
	case "=":
		c.Result = pb.Compare_EQUAL
	case "!=":
		c.Result = pb.Compare_NOT_EQUAL
	case ">":
		c.Result = pb.Compare_GREATER
	case "<":
		c.Result = pb.Compare_LESS
	default:
		cmp.setErr(fmt.Errorf("etcdclient: unknown comparison %q (want =, !=, > or <)", result))
	}

	switch c.Target {
	case pb.Compare_VALUE:
		s, ok := v.(string)
		if !ok {
			cmp.setErr(fmt.Errorf("etcdclient: Value comparison needs a string, got %T", v))
		}
		c.TargetUnion = &pb.Compare_Value{Value: []byte(s)}
	case pb.Compare_VERSION:
		c.TargetUnion = &pb.Compare_Version{Version: cmp.int64Of(v, false)}
	case pb.Compare_CREATE:
		c.TargetUnion = &pb.Compare_CreateRevision{CreateRevision: cmp.int64Of(v, false)}
	case pb.Compare_MOD:
		c.TargetUnion = &pb.Compare_ModRevision{ModRevision: cmp.int64Of(v, false)}
	case pb.Compare_LEASE:
		c.TargetUnion = &pb.Compare_Lease{Lease: cmp.int64Of(v, true)}
	default:
		cmp.setErr(fmt.Errorf("etcdclient: unknown comparison target %v", c.Target))
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
	cmp.setErr(fmt.Errorf("etcdclient: %v comparison needs an integer, got %T", cmp.c.GetTarget(), v))
	return 0
}

func (cmp *Cmp) setErr(err error) {
	if cmp.err == nil {
		cmp.err = err
	}
}

func newCmp(key string, target pb.Compare_CompareTarget) Cmp {
	return Cmp{c: &pb.Compare{Key: []byte(key), Target: target}}
}

// Value starts a comparison of key's value.
func Value(key string) Cmp { return newCmp(key, pb.Compare_VALUE) }

// Version starts a comparison of key's version (0 for a missing key).
func Version(key string) Cmp { return newCmp(key, pb.Compare_VERSION) }

// CreateRevision starts a comparison of the revision that created key
// (0 for a missing key).
func CreateRevision(key string) Cmp { return newCmp(key, pb.Compare_CREATE) }

// ModRevision starts a comparison of the revision that last modified key
// (0 for a missing key).
func ModRevision(key string) Cmp { return newCmp(key, pb.Compare_MOD) }

// LeaseValue starts a comparison of the lease attached to key; a key
// without a lease has NoLease (0).
func LeaseValue(key string) Cmp { return newCmp(key, pb.Compare_LEASE) }

// FromCompare returns a Cmp holding a copy of c; a nil c gives a Cmp with
// no message (an equality of the empty key's version).
func FromCompare(c *pb.Compare) Cmp { return Cmp{c: cloneCompare(c)} }

// GetCompare returns the wire message of cmp, creating an empty one if cmp
// has none. It is cmp's own message, not a copy: changing it changes cmp
// and every copy of cmp.
func (cmp *Cmp) GetCompare() *pb.Compare {
	if cmp.c == nil {
		cmp.c = &pb.Compare{}
	}
	return cmp.c
}

// KeyBytes returns the key cmp looks at.
func (cmp *Cmp) KeyBytes() []byte {
	if cmp == nil {
		return nil
	}
	return cmp.c.GetKey()
}

// WithKeyBytes sets the key cmp looks at.
func (cmp *Cmp) WithKeyBytes(key []byte) { cmp.GetCompare().Key = key }

// ValueBytes returns the value a Value comparison compares with, nil for
// other comparisons.
func (cmp *Cmp) ValueBytes() []byte {
	if u, ok := cmp.c.GetTargetUnion().(*pb.Compare_Value); ok {
		return u.Value
	}
	return nil
}

// WithValueBytes sets the value a Value comparison compares with. On a
// comparison of another attribute, or one Compare has not completed, it
// makes cmp a Value comparison (the official client panics).
func (cmp *Cmp) WithValueBytes(v []byte) {
	c := cmp.GetCompare()
	if u, ok := c.TargetUnion.(*pb.Compare_Value); ok {
		u.Value = v
		return
	}
	c.Target = pb.Compare_VALUE
	c.TargetUnion = &pb.Compare_Value{Value: v}
}

// WithRange returns a copy of cmp applied to every key in [key, end).
func (cmp Cmp) WithRange(end string) Cmp {
	cmp = cmp.copyMessage()
	cmp.GetCompare().RangeEnd = []byte(end)
	return cmp
}

// WithPrefix returns a copy of cmp applied to every key that starts with
// its key; an empty key means every key.
func (cmp Cmp) WithPrefix() Cmp {
	cmp = cmp.copyMessage()
	c := cmp.GetCompare()
	c.RangeEnd = prefixEnd(c.Key)
	return cmp
}

// Clone returns a copy of cmp that shares no memory with it.
func (cmp *Cmp) Clone() Cmp {
	return Cmp{c: cloneCompare(cmp.c), err: cmp.err}
}

// copyMessage returns a copy of cmp with a message of its own, whose
// fields (the key, range end and value bytes) are cmp's: what Compare and
// Txn.If need for a change made through one GetCompare not to reach the
// other, at two allocations instead of up to five.
func (cmp *Cmp) copyMessage() Cmp {
	c := cmp.c
	if c == nil {
		return Cmp{err: cmp.err}
	}
	n := &pb.Compare{Result: c.Result, Target: c.Target, Key: c.Key, RangeEnd: c.RangeEnd}
	switch u := c.TargetUnion.(type) {
	case *pb.Compare_Value:
		n.TargetUnion = &pb.Compare_Value{Value: u.Value}
	case *pb.Compare_Version:
		n.TargetUnion = &pb.Compare_Version{Version: u.Version}
	case *pb.Compare_CreateRevision:
		n.TargetUnion = &pb.Compare_CreateRevision{CreateRevision: u.CreateRevision}
	case *pb.Compare_ModRevision:
		n.TargetUnion = &pb.Compare_ModRevision{ModRevision: u.ModRevision}
	case *pb.Compare_Lease:
		n.TargetUnion = &pb.Compare_Lease{Lease: u.Lease}
	}
	return Cmp{c: n, err: cmp.err}
}

// cloneCompare returns a copy of c that shares no memory with it (nil for
// nil): field by field, cheaper than proto.Clone, as a Compare has no
// unknown fields worth keeping.
func cloneCompare(c *pb.Compare) *pb.Compare {
	if c == nil {
		return nil
	}
	n := (&Cmp{c: c}).copyMessage().c
	n.Key, n.RangeEnd = cloneBytes(c.Key), cloneBytes(c.RangeEnd)
	if u, ok := n.TargetUnion.(*pb.Compare_Value); ok {
		u.Value = cloneBytes(u.Value)
	}
	return n
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
