package client

import (
	"io"
	"net/http"
	"os"
	"strings"
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

// EnablecURLDebug makes every client print each HTTP request it sends, as a
// curl command line, to standard error. The command never holds a password:
// it names the user with -u, so that curl asks for the password, and it
// leaves out request bodies that hold one.
func EnablecURLDebug() { cURLDebug.Store(true) }

// DisablecURLDebug stops what EnablecURLDebug started.
func DisablecURLDebug() { cURLDebug.Store(false) }

// printCURL prints hreq, the HTTP form of req, as a curl command.
func printCURL(hreq *http.Request, req *request, username string) {
	var b strings.Builder
	b.WriteString("curl -X ")
	b.WriteString(hreq.Method)
	b.WriteByte(' ')
	b.WriteString(shellQuote(hreq.URL.String()))
	if username != "" {
		b.WriteString(" -u ")
		b.WriteString(shellQuote(username))
	}
	if ct := hreq.Header.Get("Content-Type"); ct != "" {
		b.WriteString(" -H ")
		b.WriteString(shellQuote("Content-Type: " + ct))
	}
	if req.bodyType != bodyNone {
		b.WriteString(" -d ")
		if req.secret {
			b.WriteString("'<omitted: holds a password>'")
		} else {
			b.WriteString(shellQuote(req.body))
		}
	}
	b.WriteByte('\n')
	cURLMu.Lock()
	defer cURLMu.Unlock()
	io.WriteString(cURLOutput, b.String())
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
