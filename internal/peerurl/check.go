package peerurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Check returns an error for an empty list or for the first URL that is
// not an http or https URL of the form scheme://host:port with no path, or
// a unix or unixs URL. Surrounding spaces are ignored.
func Check(addrs []string) error {
	if len(addrs) == 0 {
		return errors.New("no valid URLs given")
	}
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		u, err := url.Parse(a)
		if err != nil {
			return err
		}
		switch u.Scheme {
		case "http", "https":
			if _, _, err := net.SplitHostPort(u.Host); err != nil {
				return fmt.Errorf(`URL address does not have the form "host:port": %s`, a)
			}
			if u.Path != "" {
				return fmt.Errorf("URL must not contain a path: %s", a)
			}
		case "unix", "unixs":
		default:
			return fmt.Errorf("URL scheme must be http, https, unix, or unixs: %s", a)
		}
	}
	return nil
}
