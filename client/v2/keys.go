package client

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

const defaultKeysPrefix = "/v2/keys"

// PrevExistType is a condition on whether a node exists, for
// SetOptions.PrevExist.
type PrevExistType string

// The existence conditions a Set can require.
const (
	PrevIgnore  = PrevExistType("")      // no condition
	PrevExist   = PrevExistType("true")  // the node must exist
	PrevNoExist = PrevExistType("false") // the node must not exist
)

// KeysAPI is the v2 keys API: a hierarchy of keys and directories with
// compare-and-swap and long-polling watches. Every key is relative to the
// root, with or without a leading slash.
type KeysAPI interface {
	// Get returns the node at key; for a directory, with its children
	// (all descendants when opts.Recursive is set).
	Get(ctx context.Context, key string, opts *GetOptions) (*Response, error)

	// Set writes value at key, under the conditions of opts. When
	// opts.Dir is set, it makes a directory and ignores value.
	Set(ctx context.Context, key, value string, opts *SetOptions) (*Response, error)

	// Delete removes the node at key, under the conditions of opts.
	Delete(ctx context.Context, key string, opts *DeleteOptions) (*Response, error)

	// Create writes value at key only if key does not exist: Set with
	// PrevExist set to PrevNoExist.
	Create(ctx context.Context, key, value string) (*Response, error)

	// CreateInOrder creates a key in directory dir whose name is the
	// cluster index of the creation, so that keys sort in creation order.
	CreateInOrder(ctx context.Context, dir, value string, opts *CreateInOrderOptions) (*Response, error)

	// Update writes value at key only if key exists: Set with PrevExist
	// set to PrevExist.
	Update(ctx context.Context, key, value string) (*Response, error)

	// Watcher returns a Watcher of the changes at key, and under it when
	// opts.Recursive is set. It sends nothing until Next is called.
	Watcher(key string, opts *WatcherOptions) Watcher
}

// GetOptions are the options of KeysAPI.Get.
type GetOptions struct {
	// Recursive returns all descendants of a directory, not only its
	// children.
	Recursive bool

	// Sort orders each directory's nodes by key. Otherwise their order is
	// unspecified.
	Sort bool

	// Quorum makes the read linearizable: it goes through consensus, so it
	// returns the latest committed value even from a lagging member.
	Quorum bool
}

// SetOptions are the options of KeysAPI.Set. The zero value sets the key
// unconditionally, with no TTL.
type SetOptions struct {
	// PrevValue makes the Set happen only if the node's current value is
	// PrevValue. Empty means no condition, so it cannot require an empty
	// value. It is ignored when Dir is set.
	PrevValue string

	// PrevIndex makes the Set happen only if the node's ModifiedIndex is
	// PrevIndex. Zero means no condition.
	PrevIndex uint64

	// PrevExist makes the Set happen only if the node exists (PrevExist)
	// or does not (PrevNoExist). PrevIgnore, the zero value, means no
	// condition.
	PrevExist PrevExistType

	// TTL makes the node expire after this long, rounded down to whole
	// seconds. Zero or less means no TTL (so a TTL of zero cannot be set).
	TTL time.Duration

	// Refresh resets the TTL of an existing node without changing its
	// value and without notifying watchers. The value must be empty.
	Refresh bool

	// Dir makes the node a directory.
	Dir bool

	// NoValueOnSuccess leaves the node out of a successful response, which
	// saves sending large values back.
	NoValueOnSuccess bool
}

// DeleteOptions are the options of KeysAPI.Delete. The zero value deletes a
// key unconditionally.
type DeleteOptions struct {
	// PrevValue makes the Delete happen only if the node's current value
	// is PrevValue. Empty means no condition.
	PrevValue string

	// PrevIndex makes the Delete happen only if the node's ModifiedIndex
	// is PrevIndex. Zero means no condition.
	PrevIndex uint64

	// Recursive deletes a directory with everything under it.
	Recursive bool

	// Dir allows deleting an empty directory.
	Dir bool
}

// CreateInOrderOptions are the options of KeysAPI.CreateInOrder.
type CreateInOrderOptions struct {
	// TTL makes the key expire after this long, rounded down to whole
	// seconds. Zero or less means no TTL.
	TTL time.Duration
}

// WatcherOptions are the options of KeysAPI.Watcher.
type WatcherOptions struct {
	// AfterIndex makes the first event returned the first one with an
	// index above AfterIndex, which may be in the past: the server keeps
	// the last 1000 events. Zero means events from now on.
	AfterIndex uint64

	// Recursive includes events on every node under the key.
	Recursive bool
}

// Watcher returns the changes to a key one at a time, in order, without
// missing or repeating one: each Next continues after the index of the
// previous event, on whichever member answers.
type Watcher interface {
	// Next waits for the next event and returns it. It fails when ctx
	// ends (with ctx.Err()), when no member can be reached (with a
	// *ClusterError; calling Next again resumes where it stopped), or when
	// the event to resume from is no longer in the server's history (with
	// an Error of code ErrorCodeEventIndexCleared: watch again from a
	// fresh Get's index).
	Next(context.Context) (*Response, error)
}

// Response is the result of a keys API call.
type Response struct {
	// Action is what happened: get, set, delete, update, create,
	// compareAndSwap, compareAndDelete or expire.
	Action string `json:"action"`

	// Node is the node after the action, or the deleted node for delete
	// actions. It is nil when SetOptions.NoValueOnSuccess was set.
	Node *Node `json:"node"`

	// PrevNode is the node before the action, when it existed and the
	// action changed it.
	PrevNode *Node `json:"prevNode"`

	// Index is the cluster's index when it answered (the X-Etcd-Index
	// header), which need not be that of Node.
	Index uint64 `json:"-"`

	// ClusterID identifies the cluster that answered (the
	// X-Etcd-Cluster-Id header).
	ClusterID string `json:"-"`
}

// Node is a key or a directory.
type Node struct {
	// Key is the node's absolute path, such as "/foo/bar".
	Key string `json:"key"`

	// Dir reports whether the node is a directory.
	Dir bool `json:"dir,omitempty"`

	// Value is the node's value; empty for a directory.
	Value string `json:"value"`

	// Nodes are a directory's children as returned: with all their
	// descendants after a recursive Get.
	Nodes Nodes `json:"nodes"`

	// CreatedIndex is the cluster index at which the node was created.
	CreatedIndex uint64 `json:"createdIndex"`

	// ModifiedIndex is the cluster index at which the node last changed.
	ModifiedIndex uint64 `json:"modifiedIndex"`

	// Expiration is when the node expires, by the server's clock; nil
	// when it has no TTL.
	Expiration *time.Time `json:"expiration,omitempty"`

	// TTL is the node's remaining time to live in seconds; zero when it
	// has none.
	TTL int64 `json:"ttl,omitempty"`
}

// String describes the node's key, indexes and TTL, the TTL as a bare
// number of seconds ("TTL: 5"), as the official client prints it: callers
// log and compare these strings.
func (n *Node) String() string {
	return "{Key: " + n.Key +
		", CreatedIndex: " + strconv.FormatUint(n.CreatedIndex, 10) +
		", ModifiedIndex: " + strconv.FormatUint(n.ModifiedIndex, 10) +
		", TTL: " + strconv.FormatInt(n.TTL, 10) + "}"
}

// TTLDuration returns the node's TTL as a time.Duration.
func (n *Node) TTLDuration() time.Duration {
	return time.Duration(n.TTL) * time.Second
}

// Nodes is a list of nodes; sort.Sort orders it by key.
type Nodes []*Node

func (ns Nodes) Len() int           { return len(ns) }
func (ns Nodes) Less(i, j int) bool { return ns[i].Key < ns[j].Key }
func (ns Nodes) Swap(i, j int)      { ns[i], ns[j] = ns[j], ns[i] }

// NewKeysAPI returns a KeysAPI that uses c.
func NewKeysAPI(c Client) KeysAPI {
	return &httpKeysAPI{client: impl(c), prefix: defaultKeysPrefix}
}

// NewKeysAPIWithPrefix is NewKeysAPI with another URL path than /v2/keys
// for the keys API, for servers that serve it elsewhere.
func NewKeysAPIWithPrefix(c Client, p string) KeysAPI {
	return &httpKeysAPI{client: impl(c), prefix: p}
}

type httpKeysAPI struct {
	client *httpClusterClient
	prefix string
}

// keyPath returns the URL path of key: prefix and key joined and cleaned,
// keeping a trailing slash, which the server treats as significant.
func keyPath(prefix, key string) string {
	lead, sep := "", ""
	if prefix == "" || prefix[0] != '/' {
		lead = "/"
	}
	if key != "" && key[0] != '/' {
		sep = "/"
	}
	p := lead + prefix + sep + key // one allocation
	cleaned := path.Clean(p)       // none when p is clean
	if strings.HasSuffix(p, "/") && cleaned != "/" {
		if len(cleaned) == len(p)-1 && p[:len(cleaned)] == cleaned {
			return p
		}
		cleaned += "/"
	}
	return cleaned
}

// Common query strings of Get, built once.
var getQueries = func() [8]string {
	var q [8]string
	for i := range q {
		var f form
		if i&1 != 0 {
			f.add("recursive", "true")
		}
		if i&2 != 0 {
			f.add("sorted", "true")
		}
		if i&4 != 0 {
			f.add("quorum", "true")
		}
		q[i] = f.String()
	}
	return q
}()

func (k *httpKeysAPI) Get(ctx context.Context, key string, opts *GetOptions) (*Response, error) {
	req := request{method: http.MethodGet, path: keyPath(k.prefix, key), kind: kindRead, replies: keysReplies{}}
	if opts != nil {
		i := 0
		if opts.Recursive {
			i |= 1
		}
		if opts.Sort {
			i |= 2
		}
		if opts.Quorum {
			i |= 4
		}
		req.query = getQueries[i]
	}
	return k.call(ctx, &req)
}

func (k *httpKeysAPI) Set(ctx context.Context, key, value string, opts *SetOptions) (*Response, error) {
	var o SetOptions
	if opts != nil {
		o = *opts
	}
	var f form
	f.b.Grow(16 + len(value))
	if o.Dir {
		f.add("dir", "true")
	} else {
		f.add("value", value)
		if o.PrevValue != "" {
			f.add("prevValue", o.PrevValue)
		}
	}
	if o.PrevIndex != 0 {
		f.addUint("prevIndex", o.PrevIndex)
	}
	if o.PrevExist != PrevIgnore {
		f.add("prevExist", string(o.PrevExist))
	}
	if o.TTL > 0 {
		f.addUint("ttl", uint64(o.TTL/time.Second))
	}
	if o.Refresh {
		f.add("refresh", "true")
	}
	if o.NoValueOnSuccess {
		f.add("noValueOnSuccess", "true")
	}
	// A Set that creates (Create) is one-shot, as in the official client.
	req := request{method: http.MethodPut, path: keyPath(k.prefix, key), body: f.String(), bodyType: bodyForm, kind: kindWrite, replies: keysReplies{},
		oneShot: o.PrevExist == PrevNoExist}
	return k.call(ctx, &req)
}

func (k *httpKeysAPI) Create(ctx context.Context, key, value string) (*Response, error) {
	return k.Set(ctx, key, value, &SetOptions{PrevExist: PrevNoExist})
}

func (k *httpKeysAPI) Update(ctx context.Context, key, value string) (*Response, error) {
	return k.Set(ctx, key, value, &SetOptions{PrevExist: PrevExist})
}

func (k *httpKeysAPI) CreateInOrder(ctx context.Context, dir, value string, opts *CreateInOrderOptions) (*Response, error) {
	var f form
	f.b.Grow(16 + len(value))
	f.add("value", value)
	if opts != nil && opts.TTL > 0 {
		f.addUint("ttl", uint64(opts.TTL/time.Second))
	}
	req := request{method: http.MethodPost, path: keyPath(k.prefix, dir), body: f.String(), bodyType: bodyForm, kind: kindWrite, replies: keysReplies{}}
	return k.call(ctx, &req)
}

func (k *httpKeysAPI) Delete(ctx context.Context, key string, opts *DeleteOptions) (*Response, error) {
	// Every Delete is one-shot, as in the official client.
	req := request{method: http.MethodDelete, path: keyPath(k.prefix, key), kind: kindWrite, replies: keysReplies{}, oneShot: true}
	if opts != nil {
		var f form
		if opts.PrevValue != "" {
			f.add("prevValue", opts.PrevValue)
		}
		if opts.PrevIndex != 0 {
			f.addUint("prevIndex", opts.PrevIndex)
		}
		if opts.Recursive {
			f.add("recursive", "true")
		}
		if opts.Dir {
			f.add("dir", "true")
		}
		req.query = f.String()
	}
	return k.call(ctx, &req)
}

func (k *httpKeysAPI) call(ctx context.Context, req *request) (*Response, error) {
	rep, err := k.client.do(ctx, req)
	if err != nil {
		return nil, err
	}
	defer rep.release()
	return decodeKeysReply(rep)
}

func (k *httpKeysAPI) Watcher(key string, opts *WatcherOptions) Watcher {
	w := &httpWatcher{client: k.client, path: keyPath(k.prefix, key)}
	if opts != nil {
		w.recursive = opts.Recursive
		if opts.AfterIndex > 0 {
			w.next = opts.AfterIndex + 1
		}
	}
	w.req = request{method: http.MethodGet, path: w.path, kind: kindWatch, onHeader: w.onHeader, replies: keysReplies{}}
	return w
}

// httpWatcher long-polls: each Next is a GET with wait=true that the server
// answers once an event at or after waitIndex exists.
type httpWatcher struct {
	client    *httpClusterClient
	path      string
	recursive bool
	// next is the index of the first event not yet returned; zero until
	// known, when the server starts from its current index.
	next uint64
	// started is set while next is only where a long poll from "now"
	// started, learnt from its headers, not from an event or the caller.
	started bool
	// req is the long poll, built once: Next only changes its query.
	req request
}

func (w *httpWatcher) query() string {
	var f form
	f.b.Grow(48)
	f.add("wait", "true")
	if w.next > 0 {
		f.addUint("waitIndex", w.next)
	}
	if w.recursive {
		f.add("recursive", "true")
	}
	return f.String()
}

// onHeader is the long poll's header hook. A watch from "now" learns where
// now is from the X-Etcd-Index of the first long poll the server accepted
// (status 200), before any event arrives. Should the poll be dropped by a
// fault (its member fails, every member does and Next returns a
// *ClusterError, or the server ends the poll without an event), the next
// poll resumes from there, on any member, and loses nothing that happened
// in between, where the official client would poll from the new "now".
// Error replies are ignored: their X-Etcd-Index is that of the error (0
// for most), not where a watch would start.
func (w *httpWatcher) onHeader(status int, h http.Header) {
	if w.next != 0 || status != http.StatusOK {
		return
	}
	if idx, err := strconv.ParseUint(h.Get("X-Etcd-Index"), 10, 64); err == nil {
		w.next, w.started = idx+1, true
		w.req.query = w.query()
	}
}

func (w *httpWatcher) Next(ctx context.Context) (*Response, error) {
	for {
		w.req.query = w.query()
		rep, err := w.client.do(ctx, &w.req)
		if err != nil {
			if ctx.Err() != nil && w.started {
				// The caller gave up on this Next: the next one
				// watches from its own "now", as with the official
				// client, rather than replay what happened since
				// (the caller may have read the key meanwhile).
				w.next, w.started = 0, false
			}
			return nil, err
		}
		resp, err := decodeKeysReply(rep)
		rep.release()
		if err == ErrEmptyBody {
			// The server ended the long poll without an event (it
			// drops a watcher that falls behind): poll again from
			// the same index.
			continue
		}
		if e, ok := err.(Error); ok && e.Code == ErrorCodeEventIndexCleared && w.started {
			// Where the dropped poll started is out of the
			// server's history: watch from now, as the official
			// client would have all along, rather than fail.
			w.next, w.started = 0, false
			continue
		}
		if err != nil {
			return nil, err
		}
		if resp.Node != nil {
			w.next, w.started = resp.Node.ModifiedIndex+1, false
		}
		return resp, nil
	}
}

// form builds an application/x-www-form-urlencoded string. Its String
// shares the built bytes rather than copying them.
type form struct{ b strings.Builder }

func (f *form) add(key, value string) {
	f.sep(key)
	f.b.WriteString(url.QueryEscape(value))
}

func (f *form) addUint(key string, v uint64) {
	f.sep(key)
	var buf [20]byte
	f.b.Write(strconv.AppendUint(buf[:0], v, 10))
}

// sep starts the pair of key.
func (f *form) sep(key string) {
	if f.b.Len() > 0 {
		f.b.WriteByte('&')
	}
	f.b.WriteString(key)
	f.b.WriteByte('=')
}

func (f *form) String() string { return f.b.String() }
