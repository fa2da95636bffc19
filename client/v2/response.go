package client

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// This file is the one place that turns a reply into a result or an error.
// Replies with a 5xx status never get here: do treats them as failed
// attempts. Everything else is the cluster's answer, and an answer that is
// not what an etcd member sends becomes ErrEmptyBody or ErrInvalidJSON, which
// the caller gets as is (the endpoint is probably not an etcd member).

// decodeKeysReply decodes a keys API reply: a Response for 200 and 201, an
// Error otherwise.
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
	if err != nil || resp.Action == "" {
		return nil, ErrInvalidJSON
	}
	if s := rep.header.Get("X-Etcd-Index"); s != "" {
		idx, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, ErrInvalidJSON
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

// decodeKeysError decodes a keys API error body. It reports false when the
// body is not one, for example an HTML page from something that is not etcd.
func decodeKeysError(body []byte) (Error, bool) {
	if len(body) == 0 {
		return Error{}, false
	}
	e, ok := decodeErrorFast(body)
	if !ok && json.Unmarshal(body, &e) != nil {
		return Error{}, false
	}
	if e.Code == 0 {
		return Error{}, false
	}
	return e, true
}

// decodeMessage decodes the {"message": ...} body of a members or auth API
// error into se.
func decodeMessage(body []byte, se *serverError) bool {
	return len(body) > 0 && json.Unmarshal(body, se) == nil && se.Message != ""
}

// decodeServerReply decodes a members, auth or version API reply into v
// (which may be nil when the body does not matter) if its status is one of
// ok, and returns the API's error otherwise.
func decodeServerReply(rep *reply, v any, ok ...int) error {
	for _, code := range ok {
		if rep.status != code {
			continue
		}
		if v == nil {
			return nil
		}
		if len(rep.body) == 0 {
			return ErrEmptyBody
		}
		if json.Unmarshal(rep.body, v) != nil {
			return ErrInvalidJSON
		}
		return nil
	}
	se := serverError{Status: rep.status}
	if decodeMessage(rep.body, &se) {
		return se
	}
	if e, ok := decodeKeysError(rep.body); ok {
		return e
	}
	return serverError{Status: rep.status, Message: "client: unexpected response status " + strconv.Itoa(rep.status) + " " + http.StatusText(rep.status)}
}
