// Package ordering wraps a clientv3 KV so that reads never go back in
// time: the wrapper remembers the highest store revision any response
// carried, and a read answered from an older revision (typically a
// serializable read served by a member that fell behind or was
// partitioned) is an ordering violation.
//
// On a violation the wrapper calls the OrderViolationFunc: if it returns
// an error, the read fails with it; if it returns nil, the read is issued
// again. Writes are never reissued, so a write is never applied twice.
//
//	vf := func(op clientv3.Op, resp clientv3.OpResponse, prevRev int64) error {
//		return fmt.Errorf("ordering: issued %+v, got %+v, expected rev=%v", op, resp, prevRev)
//	}
//	cli.KV = ordering.NewKV(cli.KV, vf)
package ordering
