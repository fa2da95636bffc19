package client

import (
	"context"
	"net/http"
	"strconv"
)

// do sends req to the cluster and returns the first usable reply. It is the
// one place that decides which endpoint a request goes to and when it goes to
// another:
//
//   - It starts at the preferred (pinned) endpoint and sticks to it while it
//     works, which keeps one warm connection per caller.
//   - An attempt fails when the endpoint cannot be reached, the response
//     headers do not arrive within HeaderTimeoutPerRequest, the response
//     cannot be read, or the member answers with a 5xx status (it has no
//     leader or could not commit in time). Any other reply, 4xx included, is
//     the cluster's answer and is returned to the caller.
//   - After a failed attempt, the next endpoint in order is tried, each at
//     most once per call, and the first that works becomes the preferred
//     one. When all fail, the caller gets a *ClusterError holding every
//     attempt's error.
//   - Reads and watches are resent freely. A write (kindWrite: every PUT,
//     POST and DELETE, so Set, Create, Update, CreateInOrder, Delete and the
//     members and auth changes) is resent to the next endpoint only if it
//     never left the client, that is, if no connection was obtained for it.
//     Once it may have reached a member, that member may apply it even if
//     the client never hears back, and resending could apply it twice:
//     create a second in-order key, report a Create or a compare-and-swap
//     that succeeded as failed, or overwrite a newer value. Such a call
//     returns a *ClusterError at once; the next call starts at the next
//     endpoint.
//   - When ctx ends, do returns ctx.Err() itself, whatever else happened.
func (c *httpClusterClient) do(ctx context.Context, req *request) (*reply, error) {
	st := c.state.Load()
	n := len(st.eps)
	if n == 0 {
		return nil, ErrNoEndpoints
	}
	var errs []error
	for i := 0; i < n; i++ {
		k := (st.pinned + i) % n
		ep := &st.eps[k]
		rep := newReply()
		sent, err := c.send(ctx, ep, req, rep)
		if err == nil && rep.status < 500 {
			c.pin(st, k)
			return rep, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			rep.release()
			return nil, ctxErr
		}
		if err == nil {
			err = memberFailure(ep, rep)
			sent = true
		}
		rep.release()
		if req.kind == kindWrite && sent {
			errs = append(errs, &maybeAppliedError{method: req.method, endpoint: ep.raw, err: err})
			c.pin(st, (k+1)%n)
			return nil, &ClusterError{Errors: errs}
		}
		errs = append(errs, err)
	}
	c.pin(st, (st.pinned+1)%n)
	return nil, &ClusterError{Errors: errs}
}

// memberFailure describes a 5xx reply from ep.
func memberFailure(ep *endpoint, rep *reply) error {
	msg := "client: etcd member " + ep.raw + " returned " + strconv.Itoa(rep.status) + " " + http.StatusText(rep.status)
	if e, ok := decodeKeysError(rep.body); ok {
		return &wrappedError{msg: msg + ": " + e.Error(), err: e}
	}
	var se serverError
	if decodeMessage(rep.body, &se) {
		return &wrappedError{msg: msg + ": " + se.Message, err: se}
	}
	return &wrappedError{msg: msg}
}

// maybeAppliedError reports a write that failed after it may have reached a
// member, and was therefore not sent to another one.
type maybeAppliedError struct {
	method, endpoint string
	err              error
}

func (e *maybeAppliedError) Error() string {
	return e.err.Error() + " (the " + e.method + " request may have been applied by " + e.endpoint +
		", so it was not sent to another member)"
}

func (e *maybeAppliedError) Unwrap() error { return e.err }

// wrappedError is an error with its own message that still lets errors.Is
// and errors.As reach the error it describes.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }
