package client

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

var (
	cURLDebug atomic.Bool
	// cURLMu serializes the lines written to cURLOutput, which tests
	// replace to read them.
	cURLMu     sync.Mutex
	cURLOutput io.Writer = os.Stderr
)

// EnablecURLDebug makes every client print each HTTP request it sends to
// standard error, as the official client does: "cURL Command: curl -X
// METHOD URL", followed by " -d BODY" (the body Go-quoted) when the
// request has one. Programs and tools that read these lines get them in
// the same format. The one difference: a body that holds a password
// (AddUser, ChangePassword) is printed as "<omitted: holds a password>",
// so that enabling debugging never writes credentials to a log.
func EnablecURLDebug() { cURLDebug.Store(true) }

// DisablecURLDebug stops what EnablecURLDebug started.
func DisablecURLDebug() { cURLDebug.Store(false) }

// printCURL prints hreq, the HTTP form of req, as a curl command.
func printCURL(hreq *http.Request, req *request) {
	b := make([]byte, 0, 64+len(req.body))
	b = append(b, "cURL Command: curl -X "...)
	b = append(b, hreq.Method...)
	b = append(b, ' ')
	b = append(b, hreq.URL.String()...)
	if req.bodyType != bodyNone {
		b = append(b, " -d "...)
		if req.secret {
			b = strconv.AppendQuote(b, "<omitted: holds a password>")
		} else {
			b = strconv.AppendQuote(b, req.body)
		}
	}
	b = append(b, '\n')
	cURLMu.Lock()
	defer cURLMu.Unlock()
	cURLOutput.Write(b)
}
