package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"go.etcd.io/etcd/api/v3/version"
)

// This file turns replies into results and errors. Replies with a 5xx
// status never get here: do treats them as failed attempts. Everything else
// is the cluster's answer, decoded as the official client decodes it, down
// to which error a malformed reply gives: callers compare these errors
// (ErrInvalidJSON, ErrEmptyBody, an Error) and their texts. Each API's
// decoders live with the API; this file holds the keys and version ones and
// the plumbing.

// replyDecoder decodes a reply's status and body into the result it was
// made for, or returns the API's error for them.
type replyDecoder func(status int, body []byte) error

// decode sends req through c and decodes the reply with dec.
func (c *httpClusterClient) decode(ctx context.Context, req *request, dec replyDecoder) error {
	return c.decodeOn(ctx, c.state.Load(), req, dec)
}

// decodeOn is decode on the endpoints of st.
func (c *httpClusterClient) decodeOn(ctx context.Context, st *endpointState, req *request, dec replyDecoder) error {
	rep, err := c.doOn(ctx, st, req)
	if err != nil {
		return err
	}
	defer rep.release()
	return dec(rep.status, rep.body)
}

// decodeKeysReply decodes a keys API reply: a Response for 200 and 201
// (ErrEmptyBody without a body, ErrInvalidJSON when it does not decode, the
// parse error when X-Etcd-Index is not a number), an Error otherwise
// (ErrInvalidJSON when the body is not one).
func decodeKeysReply(rep *reply) (*Response, error) {
	switch rep.status {
	case http.StatusOK, http.StatusCreated:
	default:
		if e, ok := decodeKeysError(rep.body); ok {
			return nil, e
		}
		return nil, ErrInvalidJSON
	}
	if len(rep.body) == 0 {
		return nil, ErrEmptyBody
	}
	resp, err := unmarshalResponse(rep.body, rep.owned)
	if err != nil {
		return nil, ErrInvalidJSON
	}
	if s := rep.header.Get("X-Etcd-Index"); s != "" {
		idx, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, err
		}
		resp.Index = idx
	}
	resp.ClusterID = rep.header.Get("X-Etcd-Cluster-Id")
	return resp, nil
}

// unmarshalResponse decodes a keys API success body as json.Unmarshal
// would, through the fast path when the body has the usual shape. When owned,
// body is the caller's to give away and is never written again: the result's
// strings may point into it instead of into a copy.
func unmarshalResponse(body []byte, owned bool) (*Response, error) {
	if resp, ok := decodeResponseFast(body, owned); ok {
		return resp, nil
	}
	resp := new(Response)
	if err := json.Unmarshal(body, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// decodeKeysError decodes a keys API error body, or any JSON object, into
// an Error, as json.Unmarshal would. It reports false when the body is not
// JSON that fits an Error, for example an HTML page from something that is
// not etcd.
func decodeKeysError(body []byte) (Error, bool) {
	e, ok := decodeErrorFast(body)
	if !ok && json.Unmarshal(body, &e) != nil {
		return Error{}, false
	}
	return e, true
}

// versionReply decodes the reply of GET /version into v: ErrEmptyBody or
// ErrInvalidJSON for a 200 without a version, an Error for any other
// status (ErrInvalidJSON when its body is not JSON, such as a proxy's 404
// page).
func versionReply(v *version.Versions) replyDecoder {
	return func(status int, body []byte) error {
		if status != http.StatusOK {
			var e Error
			if json.Unmarshal(body, &e) != nil {
				return ErrInvalidJSON
			}
			return e
		}
		if len(body) == 0 {
			return ErrEmptyBody
		}
		if json.Unmarshal(body, v) != nil {
			return ErrInvalidJSON
		}
		return nil
	}
}

// unexpectedStatus is the official client's error for a status that a
// members or role-listing call does not expect: a plain error, without the
// server's message.
func unexpectedStatus(status int) error {
	return errors.New("unexpected status code " + strconv.Itoa(status))
}
