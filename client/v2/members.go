package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/a74b11dd/etcdkit/internal/peerurl"
)

const membersPrefix = "/v2/members"

// Member is a member of the cluster.
type Member struct {
	// ID is the member's unique ID, in hexadecimal.
	ID string `json:"id"`

	// Name is the member's human-readable name; not necessarily unique,
	// and empty until a member added with Add has started.
	Name string `json:"name"`

	// PeerURLs are the URLs on which the member talks to its peers.
	PeerURLs []string `json:"peerURLs"`

	// ClientURLs are the URLs on which the member serves clients.
	ClientURLs []string `json:"clientURLs"`
}

// MembersAPI manages the cluster's membership. Its changes are writes: see
// the package documentation for when they are resent.
type MembersAPI interface {
	// List returns the cluster's members.
	List(ctx context.Context) ([]Member, error)

	// Add adds a member that will join from peerURL, and returns it.
	Add(ctx context.Context, peerURL string) (*Member, error)

	// Remove removes the member with ID mID.
	Remove(ctx context.Context, mID string) error

	// Update replaces the peer URLs of the member with ID mID.
	Update(ctx context.Context, mID string, peerURLs []string) error

	// Leader returns the member that currently leads the cluster.
	Leader(ctx context.Context) (*Member, error)
}

// NewMembersAPI returns a MembersAPI that uses c.
func NewMembersAPI(c Client) MembersAPI { return &httpMembersAPI{client: impl(c)} }

type httpMembersAPI struct{ client *httpClusterClient }

// memberURLs is the body of Add and Update.
type memberURLs struct {
	PeerURLs []string `json:"peerURLs"`
}

// The members API's replies are decoded as the official client decodes
// them: a status the call does not expect is "unexpected status code N"
// (the server's message is dropped), a refusal the call expects (a
// conflict, an unknown member) is the server's message, and a body that
// does not decode is the JSON decoder's error.

func (m *httpMembersAPI) List(ctx context.Context) ([]Member, error) {
	var out []Member
	req := &request{method: http.MethodGet, path: membersPrefix, kind: kindRead}
	if err := m.client.decode(ctx, req, membersListReply(&out)); err != nil {
		return nil, err
	}
	return out, nil
}

// membersListReply decodes a member list into out: never nil, so that a
// cluster that lists no members gives an empty list.
func membersListReply(out *[]Member) replyDecoder {
	return func(status int, body []byte) error {
		if status != http.StatusOK {
			return unexpectedStatus(status)
		}
		var list struct{ Members []Member }
		if err := json.Unmarshal(body, &list); err != nil {
			return err
		}
		*out = list.Members
		if *out == nil {
			*out = []Member{}
		}
		return nil
	}
}

func (m *httpMembersAPI) Add(ctx context.Context, peerURL string) (*Member, error) {
	if err := peerurl.Check([]string{peerURL}); err != nil {
		return nil, err
	}
	body, err := json.Marshal(memberURLs{PeerURLs: []string{peerURL}})
	if err != nil {
		return nil, err
	}
	var out Member
	req := &request{method: http.MethodPost, path: membersPrefix, body: string(body), bodyType: bodyJSON, kind: kindWrite}
	err = m.client.decode(ctx, req, func(status int, body []byte) error {
		switch status {
		case http.StatusCreated:
			return json.Unmarshal(body, &out)
		case http.StatusConflict:
			return refusal(body)
		}
		return unexpectedStatus(status)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (m *httpMembersAPI) Remove(ctx context.Context, mID string) error {
	p, err := subPath(membersPrefix, mID)
	if err != nil {
		return err
	}
	req := &request{method: http.MethodDelete, path: p, kind: kindWrite}
	return m.client.decode(ctx, req, func(status int, _ []byte) error {
		// 410 Gone: the member was removed already, which is what
		// was asked.
		if status == http.StatusNoContent || status == http.StatusGone {
			return nil
		}
		return unexpectedStatus(status)
	})
}

func (m *httpMembersAPI) Update(ctx context.Context, mID string, peerURLs []string) error {
	if err := peerurl.Check(peerURLs); err != nil {
		return err
	}
	p, err := subPath(membersPrefix, mID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(memberURLs{PeerURLs: peerURLs})
	if err != nil {
		return err
	}
	req := &request{method: http.MethodPut, path: p, body: string(body), bodyType: bodyJSON, kind: kindWrite}
	return m.client.decode(ctx, req, func(status int, body []byte) error {
		switch status {
		case http.StatusNoContent:
			return nil
		case http.StatusNotFound, http.StatusConflict:
			return refusal(body)
		}
		return unexpectedStatus(status)
	})
}

func (m *httpMembersAPI) Leader(ctx context.Context) (*Member, error) {
	var out Member
	req := &request{method: http.MethodGet, path: membersPrefix + "/leader", kind: kindRead}
	if err := m.client.decode(ctx, req, membersLeaderReply(&out)); err != nil {
		return nil, err
	}
	return &out, nil
}

// membersLeaderReply decodes the leader's description into out.
func membersLeaderReply(out *Member) replyDecoder {
	return func(status int, body []byte) error {
		if status != http.StatusOK {
			return unexpectedStatus(status)
		}
		return json.Unmarshal(body, out)
	}
}

// refusal decodes the members API's refusal of a change: the server's
// message, or the decoder's error when the body is not JSON.
func refusal(body []byte) error {
	var e membersError
	if err := json.Unmarshal(body, &e); err != nil {
		return err
	}
	return e
}

// subPath returns the path of the resource named name under prefix. A name
// that would change the path's meaning once the server cleans it (a slash,
// "." or "..") is refused: a member ID or user name never holds one, and
// sending it could reach another resource.
func subPath(prefix, name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return "", errors.New("client: invalid name " + strconv.Quote(name) + " for " + prefix)
	}
	return prefix + "/" + name, nil
}
