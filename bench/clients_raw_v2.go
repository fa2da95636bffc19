package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
)

// rawV2 speaks the v2 keys API with net/http and encoding/json directly:
// the floor for the v2 clients, what the standard library costs for the
// same requests and the same decoded responses.
type rawV2 struct {
	transport *http.Transport
	hc        *http.Client
	urls      []string
	next      atomic.Uint64
}

// v2Node and v2Response are the parts of the v2 wire format the workloads
// read.
type v2Node struct {
	Key           string    `json:"key"`
	Value         string    `json:"value"`
	Dir           bool      `json:"dir"`
	Nodes         []*v2Node `json:"nodes"`
	ModifiedIndex uint64    `json:"modifiedIndex"`
}

type v2Response struct {
	Action    string  `json:"action"`
	Node      *v2Node `json:"node"`
	ErrorCode int     `json:"errorCode"`
	Message   string  `json:"message"`
}

func newRawV2(_ context.Context, urls []string) (v2Client, error) { return dialRawV2(urls), nil }

func dialRawV2(urls []string) *rawV2 {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &rawV2{transport: tr, hc: &http.Client{Transport: tr}, urls: urls}
}

func (c *rawV2) endpoint() string {
	return c.urls[int(c.next.Add(1)%uint64(len(c.urls)))]
}

// do sends one request and decodes the answer; a v2 error document becomes
// an error.
func (c *rawV2) do(ctx context.Context, method, key, query string, form url.Values) (*v2Response, error) {
	u := c.endpoint() + "/v2/keys" + key
	if query != "" {
		u += "?" + query
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r v2Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s %s: %s: %w", method, key, resp.Status, err)
	}
	if r.ErrorCode != 0 {
		return nil, fmt.Errorf("%s %s: error %d: %s", method, key, r.ErrorCode, r.Message)
	}
	if r.Node == nil {
		return nil, fmt.Errorf("%s %s: response without a node", method, key)
	}
	return &r, nil
}

func (c *rawV2) Set(ctx context.Context, key, val string) error {
	_, err := c.setIndex(ctx, key, val)
	return err
}

// setIndex sets key and returns the index of the change.
func (c *rawV2) setIndex(ctx context.Context, key, val string) (uint64, error) {
	r, err := c.do(ctx, http.MethodPut, key, "", url.Values{"value": {val}})
	if err != nil {
		return 0, err
	}
	return r.Node.ModifiedIndex, nil
}

func (c *rawV2) Get(ctx context.Context, key string, quorum, recursive bool) (int, error) {
	var q string
	switch {
	case quorum && recursive:
		q = "quorum=true&recursive=true"
	case quorum:
		q = "quorum=true"
	case recursive:
		q = "recursive=true"
	}
	r, err := c.do(ctx, http.MethodGet, key, q, nil)
	if err != nil {
		return 0, err
	}
	if r.Node.Dir {
		return len(r.Node.Nodes), nil
	}
	return 1, nil
}

func (c *rawV2) Watch(_ context.Context, prefix string, afterIndex uint64) (func(context.Context) error, error) {
	wait := afterIndex + 1
	return func(ctx context.Context) error {
		r, err := c.do(ctx, http.MethodGet, prefix, "wait=true&recursive=true&waitIndex="+strconv.FormatUint(wait, 10), nil)
		if err != nil {
			return err
		}
		wait = r.Node.ModifiedIndex + 1
		return nil
	}, nil
}

func (c *rawV2) Close() error {
	c.transport.CloseIdleConnections()
	return nil
}
