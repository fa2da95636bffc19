package client

import (
	"errors"
	"regexp"
	"strconv"
)

// Error codes of the v2 keys API, carried in Error.Code. They are part of the
// wire protocol: the server sends them in the "errorCode" field.
const (
	ErrorCodeKeyNotFound  = 100
	ErrorCodeTestFailed   = 101
	ErrorCodeNotFile      = 102
	ErrorCodeNotDir       = 104
	ErrorCodeNodeExist    = 105
	ErrorCodeRootROnly    = 107
	ErrorCodeDirNotEmpty  = 108
	ErrorCodeUnauthorized = 110

	ErrorCodePrevValueRequired = 201
	ErrorCodeTTLNaN            = 202
	ErrorCodeIndexNaN          = 203
	ErrorCodeInvalidField      = 209
	ErrorCodeInvalidForm       = 210

	ErrorCodeRaftInternal = 300
	ErrorCodeLeaderElect  = 301

	ErrorCodeWatcherCleared    = 400
	ErrorCodeEventIndexCleared = 401
)

// Errors about the client's view of the cluster. Calls return these values
// themselves, so both == and errors.Is work.
var (
	ErrNoEndpoints        = errors.New("client: no endpoints available")
	ErrTooManyRedirects   = errors.New("client: too many redirects")
	ErrClusterUnavailable = errors.New("client: etcd cluster is unavailable or misconfigured")
	ErrNoLeaderEndpoint   = errors.New("client: no leader endpoint available")
)

// Errors about a response that is not what an etcd server sends; the endpoint
// is probably not an etcd member. Calls return these values themselves.
var (
	ErrInvalidJSON = errors.New("client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint")
	ErrEmptyBody   = errors.New("client: response body is empty")
)

// ErrNoRequest reports that no HTTP request could be built for an action.
// This package always builds one; the value exists for compatibility.
var ErrNoRequest = errors.New("no HTTPRequest was available")

// Error is a failure reported by the v2 keys API: the server understood the
// request and refused it. Calls return it as a value (not a pointer), so test
// for it with a type assertion, errors.As, or IsKeyNotFound.
type Error struct {
	Code    int    `json:"errorCode"`
	Message string `json:"message"`
	Cause   string `json:"cause"`
	Index   uint64 `json:"index"`
}

// Error formats the failure as "code: message (cause) [index]".
func (e Error) Error() string {
	b := make([]byte, 0, 32+len(e.Message)+len(e.Cause))
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, ": "...)
	b = append(b, e.Message...)
	b = append(b, " ("...)
	b = append(b, e.Cause...)
	b = append(b, ") ["...)
	b = strconv.AppendUint(b, e.Index, 10)
	b = append(b, ']')
	return string(b)
}

// IsKeyNotFound reports whether err is an Error with code
// ErrorCodeKeyNotFound. Like the official function, it looks at err itself
// only, not at errors err wraps.
func IsKeyNotFound(err error) bool {
	e, ok := err.(Error)
	return ok && e.Code == ErrorCodeKeyNotFound
}

// membersError is the members API's refusal of a change (a conflict, an
// unknown member), with the server's message.
type membersError struct {
	Message string `json:"message"`
	Code    int    `json:"-"`
}

func (e membersError) Error() string { return e.Message }

// authError is the auth API's refusal, with the server's message.
type authError struct {
	Message string `json:"message"`
	Code    int    `json:"-"`
}

func (e authError) Error() string { return e.Message }

// The messages by which the auth API says a user or role does not exist;
// the patterns are the official client's, so that the same errors match.
var (
	userNotFound = regexp.MustCompile(`auth: User .* does not exist.`)
	roleNotFound = regexp.MustCompile(`auth: Role .* does not exist.`)
)

// IsUserNotFound reports whether err is the auth API's answer that a user
// does not exist. Like the official function, it looks at err itself only.
func IsUserNotFound(err error) bool {
	e, ok := err.(authError)
	return ok && userNotFound.MatchString(e.Message)
}

// IsRoleNotFound reports whether err is the auth API's answer that a role
// does not exist. Like the official function, it looks at err itself only.
func IsRoleNotFound(err error) bool {
	e, ok := err.(authError)
	return ok && roleNotFound.MatchString(e.Message)
}
