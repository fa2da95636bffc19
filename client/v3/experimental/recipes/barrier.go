package recipe

import (
	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Barrier blocks processes in Wait while its key exists. Hold creates the
// key; Release deletes it and so lets every waiter go.
type Barrier struct {
	client *v3.Client
	key    string
}

// NewBarrier returns a barrier on key.
func NewBarrier(client *v3.Client, key string) *Barrier {
	return &Barrier{client: client, key: key}
}

// Hold raises the barrier. It fails with ErrKeyExists if it is already
// raised.
func (b *Barrier) Hold() error {
	_, err := createKV(b.client.Ctx(), b.client.KV, b.key, "", v3.NoLease)
	return err
}

// Release lowers the barrier, unblocking every waiter.
func (b *Barrier) Release() error {
	_, err := b.client.Delete(b.client.Ctx(), b.key)
	return err
}

// Wait blocks until the barrier is lowered. If it is not raised, Wait
// returns at once.
func (b *Barrier) Wait() error {
	resp, err := b.client.Get(b.client.Ctx(), b.key, v3.WithKeysOnly())
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	_, err = WaitEvents(b.client, b.key, resp.Header.Revision+1, []mvccpb.Event_EventType{mvccpb.DELETE})
	return err
}
