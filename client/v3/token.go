package clientv3

import "context"

// maybeRefreshToken reports whether err means the client's auth token was
// rejected (ErrInvalidAuthToken, ErrAuthOldRevision, ErrUserEmpty) and a
// new token has been fetched, so that retrying the failed call once may
// succeed. A user-supplied Config.Token is never refreshed.
func (c *Client) maybeRefreshToken(ctx context.Context, err error) bool { return false }
