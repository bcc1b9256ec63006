package smartcar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
)

// Shared header values; the transport never mutates request headers, so one
// slice serves every request.
var (
	jsonContentType = []string{"application/json"}
	formContentType = []string{"application/x-www-form-urlencoded"}
)

// request is one HTTP call to Smartcar.
type request struct {
	method  string
	url     string
	auth    []string // Authorization header value
	unit    []string // SC-Unit-System header value, or nil
	userID  []string // sc-user-id header value (API v3), or nil
	body    []byte
	ctype   []string // Content-Type of body
	secrets secrets  // values to redact from any error text
	// allowEmpty accepts an empty 2xx body (some actions answer 204 or {}).
	allowEmpty bool
}

// secrets are the credentials a request carries; they are redacted from every
// error. A fixed array keeps the hot path free of allocations.
type secrets [3]string

// send performs r. It returns the response for a 2xx status (the caller
// decodes and closes its body) and a *Error for anything else.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, &Error{Type: TypeValidation, Code: "REQUEST", Description: "build request: " + err.Error(), Err: err}
	}
	h := req.Header
	h["User-Agent"] = c.userAgent
	if r.auth != nil {
		h["Authorization"] = r.auth
	}
	if r.unit != nil {
		h["Sc-Unit-System"] = r.unit
	}
	if r.userID != nil {
		h["Sc-User-Id"] = r.userID
	}
	if r.ctype != nil {
		h["Content-Type"] = r.ctype
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return nil, transportError(err, r.secrets)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(http.MaxBytesReader(nil, resp.Body, c.maxBody))
	if err != nil {
		e := responseError(resp, err, r.secrets)
		e.RetryAfter = parseRetryAfter(header(resp.Header, "Retry-After"))
		return nil, e
	}
	return nil, parseError(resp.StatusCode, resp.Header, raw, "", r.secrets)
}

// doJSON performs r and decodes a 2xx body straight into out, returning the
// response metadata.
func (c *Client) doJSON(ctx context.Context, r *request, out any) (Meta, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return Meta{}, err
	}
	body := http.MaxBytesReader(nil, resp.Body, c.maxBody)
	defer closeBody(resp.Body, body)
	if err := json.NewDecoder(body).Decode(out); err != nil && !(r.allowEmpty && err == io.EOF) {
		return Meta{}, responseError(resp, err, r.secrets)
	}
	return metaFrom(resp.Header, ""), nil
}

// fetch performs r and decodes a 2xx body into a new T with the metadata.
func fetch[T any, PT interface {
	*T
	metaSetter
}](ctx context.Context, c *Client, r *request) (PT, error) {
	out := PT(new(T))
	meta, err := c.doJSON(ctx, r, out)
	if err != nil {
		return nil, err
	}
	out.setMeta(meta)
	return out, nil
}

// doRaw performs r and returns the whole 2xx body.
func (c *Client) doRaw(ctx context.Context, r *request) (*Response, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(http.MaxBytesReader(nil, resp.Body, c.maxBody))
	if err != nil {
		return nil, responseError(resp, err, r.secrets)
	}
	return &Response{
		StatusCode: resp.StatusCode,
		Headers:    resp.Header,
		Body:       raw,
		Meta:       metaFrom(resp.Header, ""),
	}, nil
}

// closeBody drains what is left of a bounded body, so the connection can be
// reused, and closes it.
func closeBody(body io.Closer, rest io.Reader) {
	_, _ = io.Copy(io.Discard, rest)
	_ = body.Close()
}

// transportError turns a failed round trip into a SDK_ERROR *Error that
// wraps the cause (so errors.Is(err, context.Canceled) still works).
func transportError(err error, secrets secrets) *Error {
	code := "NETWORK"
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		code = "CANCELED"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		code = "TIMEOUT"
	}
	return &Error{Type: TypeSDK, Code: code, Description: redact(err.Error(), secrets), Err: err}
}

// responseError is bodyError with the status and request id of resp.
func responseError(resp *http.Response, err error, secrets secrets) *Error {
	e := bodyError(err, secrets)
	e.StatusCode = resp.StatusCode
	e.RequestID = redact(header(resp.Header, "Sc-Request-Id"), secrets)
	return e
}

// bodyError classifies a failure while reading or decoding a response body.
func bodyError(err error, secrets secrets) *Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Type: TypeSDK, Code: "RESPONSE_TOO_LARGE",
			Description: "response body exceeds the limit of " + itoa(mbe.Limit) + " bytes", Err: err}
	}
	var se *json.SyntaxError
	var ute *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &ute) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &Error{Type: TypeSDK, Code: "INVALID_RESPONSE",
			Description: "decode response body: " + redact(err.Error(), secrets), Err: err}
	}
	return transportError(err, secrets)
}
