// Package client is the Go client of swarmjob's REST API.
//
// It imports only the standard library and the wire types in api/types, so
// programs can use it without pulling in the server's dependencies. A Client
// is safe for concurrent use by multiple goroutines.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
)

// DefaultUserAgent is the User-Agent header sent unless WithUserAgent is given.
const DefaultUserAgent = "swarmjob-client"

// waitChunk is the server-side timeout of each call WaitTerminal makes. It is
// short enough that proxies and idle-connection timeouts do not cut a call.
const waitChunk = 30 * time.Second

// minWaitCall is the shortest time between the starts of two Wait calls of
// WaitTerminal. It keeps a server that answers a wait at once (one that caps
// or ignores the timeout) from being polled in a tight loop.
const minWaitCall = time.Second

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// Client calls one swarmjob server. Create it with New.
type Client struct {
	base      *url.URL
	hc        *http.Client
	userAgent string
	// token is sent as a bearer token; never logged or put in errors.
	token string
	// minWaitCall is a field so tests can shorten it.
	minWaitCall time.Duration
}

// Option configures a Client in New.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc instead of
// http.DefaultClient. A Timeout set on hc also bounds Wait and Logs calls, so
// it should exceed the longest wait timeout used.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithToken makes the Client authenticate every request with the bearer
// token: a token from POST /v1/tokens, or the server's admin token. Use https
// to any server that is not on the same machine, or the token travels in
// clear text.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a Client for the server at baseURL, an http or https URL such
// as "http://127.0.0.1:8080". The URL may carry a path prefix; it must not
// carry a query or fragment. New does no I/O.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing server URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("server URL %q: scheme must be http or https", baseURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("server URL %q: missing host", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("server URL %q: must not have a query, fragment or user info", baseURL)
	}
	c := &Client{base: u, hc: http.DefaultClient, userAgent: DefaultUserAgent, minWaitCall: minWaitCall}
	for _, opt := range opts {
		opt(c)
	}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	return c, nil
}

// Error is the error returned for every response with a non-2xx status. Code
// and Message come from the server's error body; when the body is not one,
// Code is empty and Message is the HTTP status text.
type Error struct {
	StatusCode int
	Code       string
	Message    string
}

// Error returns the server's message, which names the offending field or job.
func (e *Error) Error() string { return e.Message }

// IsUnauthorized reports whether err is, or wraps, an *Error for a request
// without a valid token (HTTP 401): none was given, or it is unknown,
// expired or deleted.
func IsUnauthorized(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized
}

// IsNotFound reports whether err is, or wraps, an *Error for an unknown job
// or route (HTTP 404).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.StatusCode == http.StatusNotFound || e.Code == types.CodeNotFound)
}

// ListOptions filter and page GET /v1/jobs. Zero values mean no filter and
// the server's default page size.
type ListOptions struct {
	// Phase keeps only jobs in this phase, such as types.PhaseRunning.
	Phase string
	// Labels keeps only jobs that carry all of these labels.
	Labels map[string]string
	// Selector is a label selector, such as "team=data,env!=dev,!urgent";
	// every requirement must hold, besides Labels.
	Selector string
	// NamePrefix keeps only jobs whose name starts with it.
	NamePrefix string
	// Tenant keeps only that tenant's jobs; it needs an admin token (other
	// tokens see their own tenant's jobs whatever they ask).
	Tenant string
	// Parent keeps only the children of this job.
	Parent string
	// IDPrefix keeps only the jobs whose ID starts with it.
	IDPrefix string
	// CreatedAfter keeps jobs created at or after it, CreatedBefore jobs
	// created strictly before it; zero times are no bound.
	CreatedAfter, CreatedBefore time.Time
	// Order is "desc" (newest first, the server's default) or "asc".
	Order string
	// Limit is the page size.
	Limit int
	// Cursor is the NextCursor of the previous page.
	Cursor string
}

// LogOptions select which logs Logs returns.
type LogOptions struct {
	// Stream is "stdout", "stderr" or "all"; empty means the server's
	// default (all).
	Stream string
	// Index selects one completion index; nil means every index.
	Index *int
	// Attempt selects one attempt by number (of Index, when set); nil
	// means every attempt.
	Attempt *int
	// Timestamps prefixes each line with the time it was written.
	Timestamps bool
	// Follow streams output while the job runs, attempt after attempt, and
	// ends only when the job is terminal (or, for one index or attempt,
	// when no more output can come for it).
	Follow bool
	// Since keeps lines written at or after it: an RFC 3339 time, or a
	// duration before now such as "10m". Empty keeps every line.
	Since string
	// Tail keeps only the last *Tail lines of the selection as it is when
	// the request arrives (with Follow, all later output comes too); nil
	// keeps all.
	Tail *int
}

// CreateJob submits a job (POST /v1/jobs) and returns it as stored.
func (c *Client) CreateJob(ctx context.Context, req types.CreateJobRequest) (*types.Job, error) {
	return call[types.Job](ctx, c, http.MethodPost, c.path("v1", "jobs"), nil, req)
}

// CreateJobWithKey submits a job with an Idempotency-Key: when the server
// already created a job for key (within 24 h) from the same request, it
// returns that job, as it is now or as it was created if it is gone, with
// created false; otherwise it creates the job (created true). Retrying a
// failed or timed-out CreateJobWithKey with the same key and request is
// safe. The same key with a different request is an *Error with status 409.
func (c *Client) CreateJobWithKey(ctx context.Context, key string, req types.CreateJobRequest) (job *types.Job, created bool, err error) {
	resp, err := c.sendWith(ctx, http.MethodPost, c.path("v1", "jobs"), nil, req, "application/json",
		http.Header{types.HeaderIdempotencyKey: {key}})
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	job = new(types.Job)
	if err := json.NewDecoder(resp.Body).Decode(job); err != nil {
		return nil, false, fmt.Errorf("decoding response of POST %s: %w", resp.Request.URL.Path, err)
	}
	return job, resp.StatusCode == http.StatusCreated, nil
}

// GetJob returns the job with the given ID; IsNotFound(err) reports an
// unknown ID.
func (c *Client) GetJob(ctx context.Context, id string) (*types.Job, error) {
	p, err := c.jobPath(id)
	if err != nil {
		return nil, err
	}
	return call[types.Job](ctx, c, http.MethodGet, p, nil, nil)
}

// ListJobs returns one page of jobs. Pass the returned NextCursor back in
// opts.Cursor for the next page; it is empty on the last page.
func (c *Client) ListJobs(ctx context.Context, opts ListOptions) (*types.JobList, error) {
	q := url.Values{}
	if opts.Phase != "" {
		q.Set("phase", opts.Phase)
	}
	keys := make([]string, 0, len(opts.Labels))
	for k := range opts.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Add("label", k+"="+opts.Labels[k])
	}
	if opts.Selector != "" {
		q.Add("label", opts.Selector)
	}
	if opts.NamePrefix != "" {
		q.Set("namePrefix", opts.NamePrefix)
	}
	if opts.Parent != "" {
		q.Set("parent", opts.Parent)
	}
	if opts.IDPrefix != "" {
		q.Set("idPrefix", opts.IDPrefix)
	}
	if opts.Tenant != "" {
		q.Set("tenant", opts.Tenant)
	}
	if !opts.CreatedAfter.IsZero() {
		q.Set("createdAfter", opts.CreatedAfter.Format(time.RFC3339Nano))
	}
	if !opts.CreatedBefore.IsZero() {
		q.Set("createdBefore", opts.CreatedBefore.Format(time.RFC3339Nano))
	}
	if opts.Order != "" {
		q.Set("order", opts.Order)
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Cursor != "" {
		q.Set("cursor", opts.Cursor)
	}
	return call[types.JobList](ctx, c, http.MethodGet, c.path("v1", "jobs"), q, nil)
}

// Logs returns the logs of a job as plain text, streamed as the server
// writes them: the stored output or, with opts.Follow, also the output of
// running attempts until the job is terminal. The caller must close the
// returned reader. Reading it returns io.EOF at the end of the logs; any
// other error means the response was cut (ctx ended, the server stopped,
// the job was deleted) and the output read is incomplete.
func (c *Client) Logs(ctx context.Context, id string, opts LogOptions) (io.ReadCloser, error) {
	p, err := c.jobPath(id, "logs")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if opts.Stream != "" {
		q.Set("stream", opts.Stream)
	}
	if opts.Index != nil {
		q.Set("index", strconv.Itoa(*opts.Index))
	}
	if opts.Attempt != nil {
		q.Set("attempt", strconv.Itoa(*opts.Attempt))
	}
	if opts.Timestamps {
		q.Set("timestamps", "true")
	}
	if opts.Follow {
		q.Set("follow", "true")
	}
	if opts.Since != "" {
		q.Set("since", opts.Since)
	}
	if opts.Tail != nil {
		q.Set("tail", strconv.Itoa(*opts.Tail))
	}
	resp, err := c.send(ctx, http.MethodGet, p, q, nil, "text/plain")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Wait makes one server-side wait call: it blocks until the job is terminal
// or timeout has passed on the server, and returns the job as it is then, so
// the caller must check its phase. A timeout <= 0 leaves the server's default.
func (c *Client) Wait(ctx context.Context, id string, timeout time.Duration) (*types.Job, error) {
	p, err := c.jobPath(id, "wait")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if timeout > 0 {
		q.Set("timeout", timeout.String())
	}
	return call[types.Job](ctx, c, http.MethodGet, p, q, nil)
}

// WaitTerminal blocks until the job is Succeeded, Failed or Cancelled and
// returns it. It repeats Wait calls of 30 s each; it returns the first error
// of a call, or ctx's error when ctx ends first.
func (c *Client) WaitTerminal(ctx context.Context, id string) (*types.Job, error) {
	for {
		start := time.Now()
		job, err := c.Wait(ctx, id, waitChunk)
		var apiErr *Error
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusServiceUnavailable {
			// The server is restarting: wait on.
			job, err = &types.Job{}, sleepCtx(ctx, time.Second)
		}
		if err != nil {
			return nil, err
		}
		if types.TerminalPhase(job.Status.Phase) {
			return job, nil
		}
		if pause := c.minWaitCall - time.Since(start); pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
	}
}

// CancelJob asks the server to cancel a job (POST /v1/jobs/{id}/cancel) and
// returns the job as it is then; cancellation completes asynchronously.
func (c *Client) CancelJob(ctx context.Context, id string) (*types.Job, error) {
	p, err := c.jobPath(id, "cancel")
	if err != nil {
		return nil, err
	}
	return call[types.Job](ctx, c, http.MethodPost, p, nil, nil)
}

// SuspendJob asks the server to suspend a job (POST /v1/jobs/{id}/suspend)
// and returns the job as it is then: its active attempts are stopped
// asynchronously. A finished job is an *Error with status 409.
func (c *Client) SuspendJob(ctx context.Context, id string) (*types.Job, error) {
	return c.postJob(ctx, id, "suspend")
}

// ResumeJob asks the server to resume a suspended job
// (POST /v1/jobs/{id}/resume) and returns the job as it is then. A finished
// job is an *Error with status 409.
func (c *Client) ResumeJob(ctx context.Context, id string) (*types.Job, error) {
	return c.postJob(ctx, id, "resume")
}

// PatchJob changes the mutable fields of a job's spec (PATCH /v1/jobs/{id})
// and returns the job as stored. The change takes effect asynchronously. A
// finished job is an *Error with status 409.
func (c *Client) PatchJob(ctx context.Context, id string, patch types.JobPatch) (*types.Job, error) {
	p, err := c.jobPath(id)
	if err != nil {
		return nil, err
	}
	return call[types.Job](ctx, c, http.MethodPatch, p, nil, patch)
}

// Results returns the outcome of each completion index of a job
// (GET /v1/jobs/{id}/results).
func (c *Client) Results(ctx context.Context, id string) (*types.Results, error) {
	p, err := c.jobPath(id, "results")
	if err != nil {
		return nil, err
	}
	return call[types.Results](ctx, c, http.MethodGet, p, nil, nil)
}

// postJob sends a body-less POST to /v1/jobs/{id}/{action} and decodes the
// job it answers.
func (c *Client) postJob(ctx context.Context, id, action string) (*types.Job, error) {
	p, err := c.jobPath(id, action)
	if err != nil {
		return nil, err
	}
	return call[types.Job](ctx, c, http.MethodPost, p, nil, nil)
}

// DeleteJob deletes a job and its stored results, cancelling it first if it
// still runs.
func (c *Client) DeleteJob(ctx context.Context, id string) error {
	p, err := c.jobPath(id)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, p, nil, nil, nil)
}

// CreateToken makes a token (POST /v1/tokens; the Client's token needs the
// admin scope). The returned Secret is shown this once: the server keeps
// only its hash.
func (c *Client) CreateToken(ctx context.Context, req types.CreateTokenRequest) (*types.CreatedToken, error) {
	return call[types.CreatedToken](ctx, c, http.MethodPost, c.path("v1", "tokens"), nil, req)
}

// ListTokens lists the tokens, without their secrets (GET /v1/tokens;
// admin).
func (c *Client) ListTokens(ctx context.Context) (*types.TokenList, error) {
	return call[types.TokenList](ctx, c, http.MethodGet, c.path("v1", "tokens"), nil, nil)
}

// DeleteToken deletes a token, which stops working at once
// (DELETE /v1/tokens/{id}; admin).
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	if id == "" || id == "." || id == ".." {
		return fmt.Errorf("invalid token ID %q", id)
	}
	return c.do(ctx, http.MethodDelete, c.path("v1", "tokens", id), nil, nil, nil)
}

// Policy returns the policy in force and where it comes from
// (GET /v1/policy; admin).
func (c *Client) Policy(ctx context.Context) (*types.Policy, error) {
	return call[types.Policy](ctx, c, http.MethodGet, c.path("v1", "policy"), nil, nil)
}

// SetPolicy replaces the policy for every job submitted from now on, and
// the server keeps it across restarts (PUT /v1/policy; admin). A server
// that reads its policy from a file refuses it (409).
func (c *Client) SetPolicy(ctx context.Context, spec types.PolicySpec) (*types.Policy, error) {
	return call[types.Policy](ctx, c, http.MethodPut, c.path("v1", "policy"), nil, spec)
}

// TenantPolicy returns the rules in force for tenant, the defaults filled
// in (GET /v1/policy/tenants/{tenant}; a token reads its own tenant's, an
// admin any tenant's).
func (c *Client) TenantPolicy(ctx context.Context, tenant string) (*types.TenantPolicy, error) {
	if tenant == "" || tenant == "." || tenant == ".." {
		return nil, fmt.Errorf("invalid tenant %q", tenant)
	}
	return call[types.TenantPolicy](ctx, c, http.MethodGet, c.path("v1", "policy", "tenants", tenant), nil, nil)
}

// Ready returns nil when the server reports itself ready (GET /readyz): its
// store is open and its engine is a reachable Swarm manager.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, c.path("readyz"), nil, nil, nil)
}

// path returns the escaped URL path of the given segments under the base
// URL. Every segment is escaped, so an ID cannot add path elements.
func (c *Client) path(segments ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(c.base.EscapedPath(), "/"))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// jobPath returns the path of /v1/jobs/{id}/{sub...}, or an error for an ID
// that cannot name a job.
func (c *Client) jobPath(id string, sub ...string) (string, error) {
	if id == "" || id == "." || id == ".." {
		return "", fmt.Errorf("invalid job ID %q", id)
	}
	return c.path(append([]string{"v1", "jobs", id}, sub...)...), nil
}

// call sends a request with do and returns its JSON answer decoded into a
// new T.
func call[T any](ctx context.Context, c *Client, method, escapedPath string, q url.Values, body any) (*T, error) {
	out := new(T)
	if err := c.do(ctx, method, escapedPath, q, body, out); err != nil {
		return nil, err
	}
	return out, nil
}

// do sends a request with an optional JSON body and decodes a 2xx response
// into out, when out is not nil.
func (c *Client) do(ctx context.Context, method, escapedPath string, q url.Values, body, out any) error {
	resp, err := c.send(ctx, method, escapedPath, q, body, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		// Drain so the connection can be reused.
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding response of %s %s: %w", method, resp.Request.URL.Path, err)
	}
	return nil
}

// send sends a request and returns the response when its status is 2xx; for
// any other status it closes the body and returns an *Error.
func (c *Client) send(ctx context.Context, method, escapedPath string, q url.Values, body any, accept string) (*http.Response, error) {
	return c.sendWith(ctx, method, escapedPath, q, body, accept, nil)
}

// sendWith is send with extra request headers.
func (c *Client) sendWith(ctx context.Context, method, escapedPath string, q url.Values, body any, accept string, extra http.Header) (*http.Response, error) {
	u := *c.base
	u.RawPath = escapedPath
	p, err := url.PathUnescape(escapedPath)
	if err != nil {
		return nil, fmt.Errorf("building request path: %w", err)
	}
	u.Path = p
	u.RawQuery = q.Encode()

	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding request body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	for k, vs := range extra {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeError(resp)
}

// decodeError turns a non-2xx response into an *Error, falling back to the
// status text when the body is not an API error.
func decodeError(resp *http.Response) *Error {
	e := &Error{StatusCode: resp.StatusCode}
	// A body that cannot be read or decoded still leaves the status.
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var er types.ErrorResponse
	if err == nil && json.Unmarshal(b, &er) == nil {
		e.Code, e.Message = er.Error.Code, er.Error.Message
	}
	if e.Message == "" {
		e.Message = statusText(resp.StatusCode)
	}
	return e
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprintf("HTTP status %d", code)
}

// sleepCtx sleeps for d or until ctx ends, and returns ctx's error then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
