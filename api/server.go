// Package api serves swarmjob's REST API over HTTP.
//
// The server is a thin layer over jobs.Store: it decodes and validates
// requests, converts the wire types of package api/types to and from the
// domain types of package jobs (convert.go), and wakes the controller through
// an Enqueuer. It touches the Engine only to read the log streams of running
// attempts for GET /v1/jobs/{id}/logs?follow=true, through LiveLogs; it
// never changes anything there. All routes are declared in
// routes; every error leaves through writeError, which holds the one mapping
// from domain error codes to HTTP statuses.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/policy"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxWait      = 10 * time.Minute
)

// MaxHeaderBytes is what the http.Server in front of the handler should
// allow for a request's header (http.Server.MaxHeaderBytes): a bearer token
// and the few headers the API reads fit many times over.
const MaxHeaderBytes = 64 << 10

// DefaultWaitTimeout is the wait of GET /v1/jobs/{id}/wait without ?timeout.
const DefaultWaitTimeout = 30 * time.Second

// DefaultEventHeartbeat is the interval of the comments GET /v1/events sends
// while no event comes, so that proxies and clients see the stream alive.
const DefaultEventHeartbeat = 15 * time.Second

// MaxListLimit is the largest ?limit GET /v1/jobs accepts.
const MaxListLimit = 500

// HeaderTerminal is set on every answer of GET /v1/jobs/{id}/wait to "true"
// when the returned job is in a terminal phase and to "false" otherwise.
const HeaderTerminal = "X-Swarmjob-Terminal"

// readyTimeout bounds one readiness check, so that a hanging engine makes
// /readyz answer 503 instead of hanging the prober.
const readyTimeout = 5 * time.Second

// ErrShuttingDown is the cause the server gives request contexts when it
// shuts down (context.WithCancelCause on the http.Server's BaseContext), so
// long-running handlers can tell a shutdown from a client that left.
var ErrShuttingDown = errors.New("server shutting down")

// Enqueuer wakes the controller for a job. Enqueue must not block; it is
// called from request handlers, concurrently.
type Enqueuer interface{ Enqueue(id string) }

// EventLog is the events stream as the API uses it: GET /v1/events reads
// the stored events and waits on Changed for new ones. events.Recorder
// implements it. Its methods are called from request handlers,
// concurrently.
type EventLog interface {
	// Changed returns a channel closed once an event is recorded after
	// the call.
	Changed() <-chan struct{}
	ReadEvents(ctx context.Context, afterID int64, limit int) ([]jobs.Event, error)
	OldestEventID(ctx context.Context) (int64, error)
	LastEventID(ctx context.Context) (int64, error)
}

// Config holds the dependencies of a Server. Store and Enqueuer are required;
// every other field has a default.
type Config struct {
	// Metrics serves GET /metrics (Prometheus); nil answers 404 there.
	Metrics http.Handler
	// Store holds the jobs. When it also implements jobs.IdempotentStore,
	// POST /v1/jobs honours the Idempotency-Key header; otherwise a request
	// with the header is refused.
	Store jobs.Store
	// Hub wakes waiters of GET /v1/jobs/{id}/wait. The controller calls
	// Hub.Notify(id) whenever it changes a job's status, so it must share
	// this Hub. Default: a new Hub.
	Hub      *jobs.Hub
	Enqueuer Enqueuer
	// LiveLogs reads the log streams of running attempts, so that a logs
	// request with follow=true shows output while attempts run. Default:
	// nil, and a follower sees each attempt's output once it is stored.
	LiveLogs LiveLogs
	// Ready reports whether the store and engine can serve; a nil error
	// means ready. Default: always ready.
	Ready  func(ctx context.Context) error
	Logger *slog.Logger // default: discard
	// Now is the clock that stamps new jobs. Default: time.Now.
	Now func() time.Time
	// NewID returns a new job ID. Default: uuid.NewString.
	NewID func() string
	// MaxBodyBytes caps request bodies. Default: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxWait caps ?timeout of GET /v1/jobs/{id}/wait. Default:
	// DefaultMaxWait. The http.Server's WriteTimeout, if any, should exceed
	// it; the wait handler extends the write deadline where it can.
	MaxWait time.Duration
	// Events is the events stream GET /v1/events serves: the events the
	// Store stores with each change (job.created with a new job), announced
	// to it. Default: none; GET /v1/events then answers 503.
	Events EventLog
	// EventHeartbeat is the interval of keep-alive comments on
	// GET /v1/events. Default: DefaultEventHeartbeat.
	EventHeartbeat time.Duration

	// Tokens keeps the API tokens: they authenticate requests, and the
	// /v1/tokens routes manage them. AdminToken, when not empty, is the
	// bootstrap admin token (tenant auth.DefaultTenant), which is not in
	// Tokens. One of the two is required unless InsecureNoAuth is set;
	// without Tokens, the /v1/tokens routes answer 503.
	Tokens     auth.TokenStore
	AdminToken string
	// InsecureNoAuth turns authentication off: every request acts as the
	// bootstrap admin, without a token. For local development only: anyone
	// who reaches the listener can run any container the policy allows.
	InsecureNoAuth bool
	// Policy holds what new jobs must follow, per tenant, and takes
	// changes (PUT /v1/policy). Default: policy.Fixed(policy.Default()).
	Policy *policy.Keeper
	// Objects resolves the Swarm secrets and configs new jobs name, which
	// must exist. Default: nil, and they are not checked at submission
	// (their attempts fail if they do not exist).
	Objects SwarmObjects
	// RateLimit is the sustained requests per second allowed per token
	// (per client address for requests whose token fails, and for every
	// request when InsecureNoAuth is set), RateBurst the requests allowed
	// at once above it; beyond them a request gets 429 with Retry-After.
	// A RateLimit of 0 means DefaultRateLimit, below 0 no limit; a
	// RateBurst below 1 means DefaultRateBurst.
	RateLimit float64
	RateBurst int
	// ChildJobs allows jobs with childJobs: the controller gives their
	// attempts the API's URL and a child-job token, which Tokens' server
	// must accept (ChildTokens). Without it such jobs are refused.
	ChildJobs bool
	// ChildTokens checks the tokens of jobs with childJobs; nil: none are
	// accepted.
	ChildTokens *auth.ChildTokens
	// MaxStreams caps the events streams, logs and waits one token has open
	// at once (429 beyond). 0 means DefaultMaxStreams, below 0 no cap.
	MaxStreams int
}

// Server is the HTTP API. It holds no per-request state; its handler is safe
// for concurrent use.
type Server struct {
	metrics  http.Handler
	store    jobs.Store
	hub      *jobs.Hub
	enqueuer Enqueuer
	live     LiveLogs
	ready    func(ctx context.Context) error
	log      *slog.Logger
	now      func() time.Time
	newID    func() string
	maxBody  int64
	maxWait  time.Duration
	// eventLog serves GET /v1/events; nil without Config.Events.
	eventLog  EventLog
	heartbeat time.Duration
	// idem creates jobs with an idempotency key; nil when the store
	// cannot.
	idem jobs.IdempotentStore

	auth     *auth.Authenticator
	tokens   auth.TokenStore
	noAuth   bool
	policies *policy.Keeper
	// objects checks the secrets and configs of new jobs; nil: unchecked.
	objects SwarmObjects
	// childJobs: jobs with childJobs are accepted (Config.ChildJobs).
	childJobs bool
	limits    *limiters
	open      *counters

	handler http.Handler
}

// NewServer returns a Server for cfg, with defaults filled in. It panics if
// cfg.Store or cfg.Enqueuer is nil, or if neither cfg.Tokens nor
// cfg.AdminToken is set without cfg.InsecureNoAuth, as these are wiring
// errors.
func NewServer(cfg Config) *Server {
	if cfg.Store == nil {
		panic("api: Config.Store is nil")
	}
	if cfg.Enqueuer == nil {
		panic("api: Config.Enqueuer is nil")
	}
	if cfg.Tokens == nil && cfg.AdminToken == "" && !cfg.InsecureNoAuth {
		panic("api: no Config.Tokens nor Config.AdminToken, and Config.InsecureNoAuth is not set")
	}
	s := &Server{
		metrics:  cfg.Metrics,
		store:    cfg.Store,
		hub:      cfg.Hub,
		enqueuer: cfg.Enqueuer,
		live:     cfg.LiveLogs,
		ready:    cfg.Ready,
		log:      cfg.Logger,
		now:      cfg.Now,
		newID:    cfg.NewID,
		maxBody:  cfg.MaxBodyBytes,
		maxWait:  cfg.MaxWait,

		eventLog:  cfg.Events,
		heartbeat: cfg.EventHeartbeat,
	}
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultEventHeartbeat
	}
	s.idem, _ = cfg.Store.(jobs.IdempotentStore)
	if s.hub == nil {
		s.hub = &jobs.Hub{}
	}
	if s.ready == nil {
		s.ready = func(context.Context) error { return nil }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxWait <= 0 {
		s.maxWait = DefaultMaxWait
	}
	s.auth = auth.NewAuthenticator(cfg.Tokens, cfg.AdminToken, s.now)
	if cfg.ChildTokens != nil {
		s.auth.WithChildTokens(cfg.ChildTokens, cfg.Store)
	}
	s.childJobs = cfg.ChildJobs
	s.tokens, s.noAuth = cfg.Tokens, cfg.InsecureNoAuth
	if s.policies = cfg.Policy; s.policies == nil {
		s.policies = policy.Fixed(policy.Default())
	}
	s.objects = cfg.Objects
	limit, burst := cfg.RateLimit, cfg.RateBurst
	if limit == 0 {
		limit = DefaultRateLimit
	}
	if burst < 1 {
		burst = DefaultRateBurst
	}
	s.limits = newLimiters(limit, burst, time.Now)
	s.open = &counters{max: cfg.MaxStreams}
	if s.open.max == 0 {
		s.open.max = DefaultMaxStreams
	}
	s.handler = s.logRequests(s.recoverPanics(s.authenticate(s.limit(s.jsonMuxErrors(s.routes())))))
	return s
}

// Handler returns the http.Handler serving the whole API, middleware
// included. It is the same value on every call.
func (s *Server) Handler() http.Handler { return s.handler }

// routes is the route table of the API: every route is here, with the scope
// its token needs. Only the routes of anonymousPaths have none.
func (s *Server) routes() *http.ServeMux {
	// The scopes a route accepts, any one of which will do. A child-job
	// token (auth.ScopeJobsChildren) may create, read and cancel its job's
	// children, nothing else; getJob and the list filter keep it to them.
	var (
		read         = []auth.Scope{auth.ScopeJobsRead}
		write        = []auth.Scope{auth.ScopeJobsWrite}
		admin        = []auth.Scope{auth.ScopeAdmin}
		readOrChild  = []auth.Scope{auth.ScopeJobsRead, auth.ScopeJobsChildren}
		writeOrChild = []auth.Scope{auth.ScopeJobsWrite, auth.ScopeJobsChildren}
	)
	mux := http.NewServeMux()
	mux.Handle("POST /v1/jobs", s.need(writeOrChild, s.handleCreateJob))
	mux.Handle("GET /v1/jobs", s.need(readOrChild, s.handleListJobs))
	mux.Handle("GET /v1/jobs/{id}", s.need(readOrChild, s.handleGetJob))
	mux.Handle("PATCH /v1/jobs/{id}", s.need(write, s.handlePatchJob))
	mux.Handle("DELETE /v1/jobs/{id}", s.need(write, s.handleDeleteJob))
	mux.Handle("GET /v1/jobs/{id}/logs", s.need(readOrChild, s.streams(s.handleJobLogs)))
	mux.Handle("GET /v1/jobs/{id}/results", s.need(readOrChild, s.handleJobResults))
	mux.Handle("GET /v1/jobs/{id}/wait", s.need(readOrChild, s.streams(s.handleWaitJob)))
	mux.Handle("POST /v1/jobs/{id}/cancel", s.need(writeOrChild, s.handleCancelJob))
	mux.Handle("POST /v1/jobs/{id}/suspend", s.need(write, s.handleSuspendJob))
	mux.Handle("POST /v1/jobs/{id}/resume", s.need(write, s.handleResumeJob))
	mux.Handle("GET /v1/events", s.need(read, s.streams(s.handleEvents)))
	mux.Handle("POST /v1/tokens", s.need(admin, s.handleCreateToken))
	mux.Handle("GET /v1/tokens", s.need(admin, s.handleListTokens))
	mux.Handle("DELETE /v1/tokens/{id}", s.need(admin, s.handleDeleteToken))
	mux.Handle("GET /v1/policy", s.need(admin, s.handleGetPolicy))
	mux.Handle("PUT /v1/policy", s.need(admin, s.handlePutPolicy))
	mux.Handle("GET /v1/policy/tenants/{tenant}", s.need(read, s.handleGetTenantPolicy))
	mux.HandleFunc("GET /v1/openapi.json", s.handleOpenAPI)
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	return mux
}

// handleMetrics serves the Prometheus metrics, without a token like the
// probes: they hold counts and durations, nothing of any tenant's jobs.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metrics == nil {
		s.writeError(w, r, jobs.Errorf(jobs.ENOTFOUND, "metrics are not enabled"))
		return
	}
	s.metrics.ServeHTTP(w, r)
}
