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
// Test for it with a type assertion (err.(*ClusterError)) or errors.As. It
// has no Unwrap method, to export exactly the official API; the attempts'
// errors are as the transport reported them (errors.Is(cerr.Errors[0],
// syscall.ECONNREFUSED)). They never hold context.Canceled or
// context.DeadlineExceeded: when the caller's context ends, a call returns
// the context's error instead.
type ClusterError struct {
	Errors []error
}

// Error reports ErrClusterUnavailable followed by each attempt's error, in
// the official client's format: each attempt as "; error #N: text" and a
// newline, which programs that log or match the text expect.
func (ce *ClusterError) Error() string {
	var b strings.Builder
	b.WriteString(ErrClusterUnavailable.Error())
	for i, err := range ce.Errors {
		b.WriteString("; error #")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(": ")
		b.WriteString(err.Error())
		b.WriteByte('\n')
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

// Is reports whether target is ErrClusterUnavailable, which a ClusterError
// is an instance of, so that errors.Is(err, ErrClusterUnavailable) holds.
// The attempts' own errors are deliberately not unwrapped: a per-request
// header timeout would otherwise look like the caller's own
// context.DeadlineExceeded. Reach them through Errors.
func (ce *ClusterError) Is(target error) bool { return target == ErrClusterUnavailable }
