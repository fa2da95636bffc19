package robustness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
)

// Etcdkit is a NewClient for etcdkit's client/v3, with default settings.
//
// tools/robustness holds a copy of this file made for the official client
// (by its TestOfficialAdapterMirrorsEtcdkit -update); keep the two in step.
func Etcdkit(ctx context.Context, endpoints []string) (Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		Context:     ctx,
	})
	if err != nil {
		return nil, err
	}
	return etcdkitClient{cli}, nil
}

type etcdkitClient struct{ cli *clientv3.Client }

func (c etcdkitClient) Do(ctx context.Context, req Request) (Result, error) {
	switch req.Kind {
	case Get:
		var opts []clientv3.OpOption
		if req.Serializable {
			opts = append(opts, clientv3.WithSerializable())
		}
		resp, err := c.cli.Get(ctx, req.Key, opts...)
		if err != nil {
			return Result{}, err
		}
		return etcdkitRead(resp.Header.Revision, resp.Kvs), nil
	case Put:
		var opts []clientv3.OpOption
		if req.Lease != 0 {
			opts = append(opts, clientv3.WithLease(clientv3.LeaseID(req.Lease)))
		}
		resp, err := c.cli.Put(ctx, req.Key, req.Value, opts...)
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return Result{}, fmt.Errorf("%w: %w", ErrNotApplied, err)
		}
		if err != nil {
			return Result{}, err
		}
		return Result{Revision: resp.Header.Revision}, nil
	case Delete:
		resp, err := c.cli.Delete(ctx, req.Key)
		if err != nil {
			return Result{}, err
		}
		return Result{Revision: resp.Header.Revision, Deleted: resp.Deleted}, nil
	case Txn:
		cmp := clientv3.Compare(clientv3.ModRevision(req.Key), "=", req.ExpectRev)
		if req.CompareValue {
			cmp = clientv3.Compare(clientv3.Value(req.Key), "=", req.Expect)
		}
		resp, err := c.cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(req.Key, req.Value)).Else(clientv3.OpGet(req.Key)).Commit()
		if err != nil {
			return Result{}, err
		}
		if resp.Succeeded {
			return Result{Revision: resp.Header.Revision, Succeeded: true}, nil
		}
		return etcdkitRead(resp.Header.Revision, resp.Responses[0].GetResponseRange().Kvs), nil
	case Grant:
		resp, err := c.cli.Grant(ctx, req.TTL)
		if err != nil {
			return Result{}, err
		}
		return Result{Revision: resp.Revision, LeaseID: int64(resp.ID)}, nil
	case Revoke:
		resp, err := c.cli.Revoke(ctx, clientv3.LeaseID(req.Lease))
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return Result{LeaseNotFound: true}, nil
		}
		if err != nil {
			return Result{}, err
		}
		return Result{Revision: resp.Header.Revision}, nil
	}
	return Result{}, errors.New("robustness: unknown request kind")
}

func etcdkitRead(rev int64, kvs []*mvccpb.KeyValue) Result {
	r := Result{Revision: rev}
	if len(kvs) > 0 {
		kv := kvs[0]
		r.Found, r.Value, r.ModRev, r.CreateRev, r.Version = true, string(kv.Value), kv.ModRevision, kv.CreateRevision, kv.Version
	}
	return r
}

func (c etcdkitClient) Watch(ctx context.Context, req WatchRequest) <-chan WatchResponse {
	var opts []clientv3.OpOption
	if req.Prefix {
		opts = append(opts, clientv3.WithPrefix())
	}
	if req.Revision != 0 {
		opts = append(opts, clientv3.WithRev(req.Revision))
	}
	if req.ProgressNotify {
		opts = append(opts, clientv3.WithProgressNotify())
	}
	wch := c.cli.Watch(ctx, req.Key, opts...)
	out := make(chan WatchResponse)
	go func() {
		defer close(out)
		for resp := range wch {
			r := WatchResponse{
				Revision: resp.Header.Revision, CompactRevision: resp.CompactRevision,
				Progress: resp.IsProgressNotify(), Canceled: resp.Canceled,
			}
			if err := resp.Err(); err != nil {
				r.Err = err.Error()
			}
			for _, e := range resp.Events {
				r.Events = append(r.Events, Event{
					Delete: e.Type == mvccpb.DELETE, Key: string(e.Kv.Key), Value: string(e.Kv.Value),
					ModRev: e.Kv.ModRevision, CreateRev: e.Kv.CreateRevision, Version: e.Kv.Version,
				})
			}
			select {
			case out <- r:
			case <-ctx.Done():
				for range wch {
				}
				return
			}
		}
	}()
	return out
}

func (c etcdkitClient) RequestProgress(ctx context.Context) error {
	return c.cli.RequestProgress(ctx)
}

func (c etcdkitClient) KeepAlive(ctx context.Context, id int64) (<-chan struct{}, error) {
	ch, err := c.cli.KeepAlive(ctx, clientv3.LeaseID(id))
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch {
		}
	}()
	return done, nil
}

func (c etcdkitClient) Compact(ctx context.Context, rev int64) error {
	_, err := c.cli.Compact(ctx, rev)
	return err
}

func (c etcdkitClient) NewLocker(ctx context.Context, name string, ttl int, election bool) (Locker, error) {
	s, err := concurrency.NewSession(c.cli, concurrency.WithTTL(ttl), concurrency.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	l := &etcdkitLocker{cli: c.cli, s: s}
	if election {
		l.e = concurrency.NewElection(s, name)
	} else {
		l.m = concurrency.NewMutex(s, name)
	}
	return l, nil
}

func (c etcdkitClient) Close() error { return c.cli.Close() }

type etcdkitLocker struct {
	cli *clientv3.Client
	s   *concurrency.Session
	m   *concurrency.Mutex
	e   *concurrency.Election
	key string
	rev int64
}

func (l *etcdkitLocker) Lock(ctx context.Context, value string) (int64, error) {
	if l.e != nil {
		if err := l.e.Campaign(ctx, value); err != nil {
			return 0, err
		}
		l.key, l.rev = l.e.Key(), l.e.Rev()
		return l.rev, nil
	}
	if err := l.m.Lock(ctx); err != nil {
		return 0, err
	}
	l.key = l.m.Key()
	resp, err := l.cli.Get(ctx, l.key)
	if err != nil || len(resp.Kvs) == 0 {
		// The holder cannot learn its revision: give the lock back,
		// without waiting on a member that does not answer.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		l.m.Unlock(uctx)
		cancel()
		if err == nil {
			err = errors.New("robustness: lock key vanished")
		}
		return 0, err
	}
	l.rev = resp.Kvs[0].CreateRevision
	return l.rev, nil
}

func (l *etcdkitLocker) FencedPut(ctx context.Context, key, value string) (bool, int64, error) {
	resp, err := l.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(l.key), "=", l.rev)).
		Then(clientv3.OpPut(key, value)).Commit()
	if err != nil {
		return false, 0, err
	}
	return resp.Succeeded, resp.Header.Revision, nil
}

func (l *etcdkitLocker) Unlock(ctx context.Context) error {
	if l.e != nil {
		return l.e.Resign(ctx)
	}
	return l.m.Unlock(ctx)
}

func (l *etcdkitLocker) Lost() <-chan struct{} { return l.s.Done() }

func (l *etcdkitLocker) Close() error { return l.s.Close() }
