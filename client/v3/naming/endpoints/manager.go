package endpoints

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// stored is the JSON layout of an endpoint's value in etcd.
type stored struct {
	Op       Operation
	Addr     string
	Metadata any
}

type manager struct {
	client *clientv3.Client
	target string
}

// NewManager returns the Manager of target's endpoints, which live under
// the keys starting with target + "/". It fails, with the official texts
// "invalid etcd client" and "invalid target", when client is nil or target
// empty.
func NewManager(client *clientv3.Client, target string) (Manager, error) {
	if client == nil {
		return nil, errors.New("invalid etcd client")
	}
	if target == "" {
		return nil, errors.New("invalid target")
	}
	return &manager{client: client, target: target}, nil
}

func (m *manager) prefix() string { return m.target + "/" }

// Update checks every update before writing any: a key outside the
// target's prefix, metadata that does not encode as JSON, or an unknown
// operation fails the whole call with a gRPC InvalidArgument status (the
// official client's codes and texts), and nothing is written. A nil update
// fails the same way, where the official client panics.
func (m *manager) Update(ctx context.Context, updates []*UpdateWithOpts) error {
	ops := make([]clientv3.Op, 0, len(updates))
	for _, u := range updates {
		if u == nil {
			return status.Error(codes.InvalidArgument, "endpoints: nil update")
		}
		if !strings.HasPrefix(u.Key, m.prefix()) {
			return status.Errorf(codes.InvalidArgument, "endpoints: endpoint key should be prefixed with '%s' got: '%s'", m.prefix(), u.Key)
		}
		switch u.Op {
		case Add:
			v, err := json.Marshal(stored{Op: Add, Addr: u.Endpoint.Addr, Metadata: u.Endpoint.Metadata})
			if err != nil {
				return status.Error(codes.InvalidArgument, err.Error())
			}
			ops = append(ops, clientv3.OpPut(u.Key, string(v), u.Opts...))
		case Delete:
			ops = append(ops, clientv3.OpDelete(u.Key, u.Opts...))
		default:
			return status.Error(codes.InvalidArgument, "endpoints: bad update op")
		}
	}
	_, err := m.client.KV.Txn(ctx).Then(ops...).Commit()
	return err
}

func (m *manager) AddEndpoint(ctx context.Context, key string, endpoint Endpoint, opts ...clientv3.OpOption) error {
	return m.Update(ctx, []*UpdateWithOpts{NewAddUpdateOpts(key, endpoint, opts...)})
}

func (m *manager) DeleteEndpoint(ctx context.Context, key string, opts ...clientv3.OpOption) error {
	return m.Update(ctx, []*UpdateWithOpts{NewDeleteUpdateOpts(key, opts...)})
}

// List reads serializably, as the official manager does: a member without
// a leader still answers with what it has, and the client never returns a
// serializable answer older than one it has already seen.
func (m *manager) List(ctx context.Context) (Key2EndpointMap, error) {
	resp, err := m.client.KV.Get(ctx, m.prefix(), clientv3.WithPrefix(), clientv3.WithSerializable())
	if err != nil {
		return nil, err
	}
	eps := make(Key2EndpointMap, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if ep, ok := m.decode(kv); ok {
			eps[string(kv.Key)] = ep
		}
	}
	return eps, nil
}

// decode returns the endpoint stored in kv. A value that is not a valid
// endpoint is logged and skipped: one bad key must not hide the others.
func (m *manager) decode(kv *mvccpb.KeyValue) (Endpoint, bool) {
	var s stored
	if err := json.Unmarshal(kv.Value, &s); err != nil {
		m.client.GetLogger().Warn("endpoints: skipping a value that is not an endpoint",
			zap.String("key", string(kv.Key)), zap.Error(err))
		return Endpoint{}, false
	}
	return Endpoint{Addr: s.Addr, Metadata: s.Metadata}, true
}

func (m *manager) NewWatchChannel(ctx context.Context) (WatchChannel, error) {
	// Serializable, as the official manager reads it: a member without a
	// leader still tells what it has.
	resp, err := m.client.KV.Get(ctx, m.prefix(), clientv3.WithPrefix(), clientv3.WithSerializable())
	if err != nil {
		return nil, err
	}
	initial := make([]*Update, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if ep, ok := m.decode(kv); ok {
			initial = append(initial, &Update{Op: Add, Key: string(kv.Key), Endpoint: ep})
		}
	}
	ch := make(chan []*Update, 1)
	if len(initial) > 0 {
		ch <- initial
	}
	go m.watch(ctx, resp.Header.Revision+1, ch)
	return ch, nil
}

// watch sends every change after rev until ctx ends or the watch fails.
func (m *manager) watch(ctx context.Context, rev int64, ch chan<- []*Update) {
	defer close(ch)
	wch := m.client.Watcher.Watch(ctx, m.prefix(), clientv3.WithPrefix(), clientv3.WithRev(rev))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			m.client.GetLogger().Warn("endpoints: watch failed", zap.String("target", m.target), zap.Error(err))
			return
		}
		var ups []*Update
		for _, ev := range wr.Events {
			key := string(ev.Kv.Key)
			switch ev.Type {
			case mvccpb.PUT:
				if ep, ok := m.decode(ev.Kv); ok {
					ups = append(ups, &Update{Op: Add, Key: key, Endpoint: ep})
				}
			case mvccpb.DELETE:
				ups = append(ups, &Update{Op: Delete, Key: key})
			}
		}
		if len(ups) == 0 {
			continue
		}
		select {
		case ch <- ups:
		case <-ctx.Done():
			return
		}
	}
}
