// Package ordering wraps a clientv3 KV so that reads never go back in
// time: the wrapper remembers the highest store revision a checked
// response carried, and a response from an older revision (typically a
// serializable read served by a member that fell behind or was
// partitioned) is an ordering violation.
//
// As with the official wrapper, only Get and Txn are checked, and only
// their responses raise the remembered revision; Put, Delete, Compact and
// Do pass straight through, and GetStream is refused as unimplemented.
//
// On a violation the wrapper calls the OrderViolationFunc with the
// operation, the stale response and the revision remembered when the call
// began: if it returns an error, the call fails with it; if it returns
// nil, the operation is issued again. A transaction that may write is the
// exception: it has already been applied, so it is never issued again and
// its response is returned as it came.
//
//	vf := func(op clientv3.Op, resp clientv3.OpResponse, prevRev int64) error {
//		return fmt.Errorf("ordering: issued %+v, got %+v, expected rev=%v", op, resp, prevRev)
//	}
//	cli.KV = ordering.NewKV(cli.KV, vf)
package ordering
