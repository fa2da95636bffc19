package client

import (
	"strconv"
	"strings"
)

// ClusterError reports that a call got no usable answer from the cluster:
// every endpoint it tried failed, or it sent a write whose outcome it cannot
// know and may not resend. Errors holds one error per failed attempt, in the
// order the attempts were made.
//
// Besides a type assertion (err.(*ClusterError)), errors.Is(err,
// ErrClusterUnavailable) recognizes it, and errors.Is and errors.As look into
// the attempts' errors (for example errors.Is(err, syscall.ECONNREFUSED)).
// Attempt errors never hold context.Canceled or context.DeadlineExceeded: when
// the caller's context ends, a call returns the context's error instead.
type ClusterError struct {
	Errors []error
}

// Error reports ErrClusterUnavailable followed by each attempt's error.
func (ce *ClusterError) Error() string {
	var b strings.Builder
	b.WriteString(ErrClusterUnavailable.Error())
	for i, err := range ce.Errors {
		b.WriteString("; error #")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(": ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Detail lists each attempt's error on a line of its own.
func (ce *ClusterError) Detail() string {
	var b strings.Builder
	for i, err := range ce.Errors {
		b.WriteString("error #")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(": ")
		b.WriteString(err.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

// Unwrap returns ErrClusterUnavailable followed by the attempts' errors, so
// that errors.Is and errors.As see both what happened to the call and why.
// It is an addition to the official API.
func (ce *ClusterError) Unwrap() []error {
	out := make([]error, 0, len(ce.Errors)+1)
	out = append(out, ErrClusterUnavailable)
	return append(out, ce.Errors...)
}
