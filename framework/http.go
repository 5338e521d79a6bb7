package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ControlsVersion is the version of the GET /controls answer.
const ControlsVersion = 1

// ControlsHandler answers GET /controls with the JSON list of the controls a
// role runs: {"version": 1, "role": ..., "controls": [{"id": ..., "params":
// {...}}]}. The analysis tool reads it ([FetchControls]) to check a live
// deployment against a model, so the shape is a public contract.
func ControlsHandler(role string, active func() []Active) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		a := active()
		SortActive(a)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(controlsDoc{ControlsVersion, role, a})
	})
}

type controlsDoc struct {
	Version  int      `json:"version"`
	Role     string   `json:"role"`
	Controls []Active `json:"controls"`
}

// ErrControlsAnswer reports a GET /controls answer that is not a version 1
// list of well-formed controls, or a URL that cannot serve one.
var ErrControlsAnswer = errors.New("bad /controls answer")

// maxControlsAnswer bounds what a role may send back: a few hundred controls
// with parameters fit in far less.
const maxControlsAnswer = 1 << 20

// fetchTimeout bounds one FetchControls when ctx has no earlier deadline.
const fetchTimeout = 10 * time.Second

// FetchControls asks the running role at base ("http(s)://host:port";
// "/controls" is appended unless present) which controls it runs. The
// client carries the TLS trust for an https role: a USaPP CA's root.
func FetchControls(ctx context.Context, client *http.Client, base string) (role string, active []Active, err error) {
	u, err := ControlsURL(base)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("%w: get %s: %s", ErrControlsAnswer, u, resp.Status)
	}
	return ReadControls(resp.Body)
}

// ControlsURL is the GET /controls URL of the role at base.
func ControlsURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not an http(s) URL", ErrControlsAnswer, base)
	}
	if !strings.HasSuffix(u.Path, "/controls") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/controls"
	}
	return u.String(), nil
}

// ReadControls decodes a ControlsHandler answer strictly: unknown keys, a
// version other than 1, a malformed control ID or more than a megabyte are
// ErrControlsAnswer, since a silently misread answer would report false
// drift.
func ReadControls(r io.Reader) (role string, active []Active, err error) {
	var doc controlsDoc
	dec := json.NewDecoder(io.LimitReader(r, maxControlsAnswer))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrControlsAnswer, err)
	}
	if doc.Version != ControlsVersion {
		return "", nil, fmt.Errorf("%w: version %d, want %d", ErrControlsAnswer, doc.Version, ControlsVersion)
	}
	for _, a := range doc.Controls {
		if err := a.ID.Validate(); err != nil {
			return "", nil, fmt.Errorf("%w: %w", ErrControlsAnswer, err)
		}
	}
	return doc.Role, doc.Controls, nil
}
