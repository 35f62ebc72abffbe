package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockerclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/controller"
	"github.com/swarmjob/swarmjob/events"
	"github.com/swarmjob/swarmjob/gc"
	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/metrics"
	"github.com/swarmjob/swarmjob/policy"
	"github.com/swarmjob/swarmjob/results"
	"github.com/swarmjob/swarmjob/sqlite"
)

type serveOptions struct {
	listen      string
	dataDir     string
	maxLogBytes int64
	workers     int
	pollFast    time.Duration
	pollSlow    time.Duration
	resync      time.Duration
	orphanGrace time.Duration
	gcInterval  time.Duration
	retainAge   time.Duration
	retainCount int
	eventRet    time.Duration
	nodeLost    time.Duration
	logLevel    string
	logFormat   string
	// Security (issue 6).
	auth       bool
	policyFile string
	tlsCert    string
	tlsKey     string
	rateLimit  float64
	rateBurst  int
	// Child jobs: the network their attempts reach the API on, and the URL.
	jobNetwork string
	jobURL     string
	jobCACert  string
	// metricsListen, when set, serves /metrics there instead of on the API.
	metricsListen string
}

// newServeCmd returns the serve command: the API server, the controller and
// the garbage collector in one process.
func newServeCmd(env *cliEnv) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the swarmjob server (API, controller and garbage collector)",
		Long: "serve runs the REST API and the controller that runs jobs as Swarm services.\n" +
			"It needs a Docker Engine that is a Swarm manager, found through DOCKER_HOST,\n" +
			"DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the docker CLI does.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), env, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	f.StringVar(&o.dataDir, "data-dir", "./data", "directory of the embedded store")
	f.Int64Var(&o.maxLogBytes, "max-log-bytes", results.DefaultMaxBytes, "output kept per attempt, in bytes; the rest is dropped and marked truncated")
	f.IntVar(&o.workers, "workers", 4, "jobs synced concurrently")
	f.DurationVar(&o.pollFast, "poll-interval", 100*time.Millisecond, "Swarm poll interval while attempts are active")
	f.DurationVar(&o.pollSlow, "idle-poll-interval", 2*time.Second, "Swarm poll interval while nothing runs")
	f.DurationVar(&o.resync, "resync-interval", 30*time.Second, "interval of the full resync of unfinished jobs")
	f.DurationVar(&o.nodeLost, "node-lost-grace", 30*time.Second, "how long a node may be down before the attempts on it are lost and replaced")
	f.DurationVar(&o.retainAge, "retention-age", 0, "delete finished jobs and their results this long after they finished (0: keep; a job's ttlSecondsAfterFinished wins)")
	f.IntVar(&o.retainCount, "retention-count", 0, "keep at most this many finished jobs, deleting the oldest (0: no limit)")
	f.DurationVar(&o.eventRet, "event-retention", jobs.DefaultEventRetention, "how long events are kept for clients of /v1/events that reconnect")
	f.DurationVar(&o.gcInterval, "gc-interval", 30*time.Second, "interval between garbage collection passes")
	f.DurationVar(&o.orphanGrace, "orphan-grace", time.Minute, "age after which a managed service no job accounts for is removed")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "text", "text or json")
	f.BoolVar(&o.auth, "auth", true, "require a bearer token on every API request but /healthz and /readyz; --auth=false (loopback --listen only) lets anyone who reaches the listener act as admin")
	f.StringVar(&o.policyFile, "policy", "", "YAML or JSON file of per-tenant rules (bind mounts, volumes, images, ceilings); default: no bind mounts, each tenant's own volumes, any image")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve the API over https; needs --tls-key")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.Float64Var(&o.rateLimit, "rate-limit", api.DefaultRateLimit, "requests per second allowed per token, sustained (0: no limit); beyond it 429 with Retry-After")
	f.IntVar(&o.rateBurst, "rate-burst", api.DefaultRateBurst, "requests one token may make at once above --rate-limit")
	f.StringVar(&o.jobNetwork, "job-network", "", "swarm network (an attachable overlay, created if missing) on which jobs with childJobs reach the API; without it such jobs are refused")
	f.StringVar(&o.metricsListen, "metrics-listen", "", "serve GET /metrics on this address only (such as 127.0.0.1:9090), not on --listen; default: on --listen, without a token")
	f.StringVar(&o.jobCACert, "job-ca-cert", "", "PEM certificates that jobs trust for an https --job-url (given to them as a Swarm config and SWARMJOB_CA_CERT); default: --tls-cert")
	f.StringVar(&o.jobURL, "job-url", "", "URL of the API as jobs on --job-network reach it; default: this node's docker_gwbridge gateway at --listen's port, where the server then also listens")
	return cmd
}

func (o serveOptions) validate() error {
	switch {
	case o.maxLogBytes < 1 || o.maxLogBytes > jobs.MaxLogBytesLimit:
		return usageErrorf("--max-log-bytes: must be between 1 and %d (1 GiB)", jobs.MaxLogBytesLimit)
	case o.workers < 1:
		return usageErrorf("--workers: must be at least 1")
	case o.pollFast <= 0 || o.pollSlow < o.pollFast:
		return usageErrorf("--poll-interval must be positive and --idle-poll-interval at least as long")
	case o.resync <= 0:
		return usageErrorf("--resync-interval: must be positive")
	case o.nodeLost <= 0:
		return usageErrorf("--node-lost-grace: must be positive")
	case o.retainAge < 0 || o.retainCount < 0:
		return usageErrorf("--retention-age and --retention-count must not be negative")
	case o.eventRet <= 0:
		return usageErrorf("--event-retention: must be positive")
	case o.gcInterval <= 0:
		return usageErrorf("--gc-interval: must be positive")
	case o.orphanGrace < 0:
		return usageErrorf("--orphan-grace: must not be negative")
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return usageErrorf("--tls-cert and --tls-key: give both or neither")
	case o.rateLimit < 0 || o.rateLimit != o.rateLimit:
		return usageErrorf("--rate-limit: must not be negative")
	case o.rateBurst < 1:
		return usageErrorf("--rate-burst: must be at least 1")
	case o.jobURL != "" && o.jobNetwork == "":
		return usageErrorf("--job-url: needs --job-network")
	case o.jobCACert != "" && o.jobNetwork == "":
		return usageErrorf("--job-ca-cert: needs --job-network")
	case o.jobNetwork != "" && !o.auth:
		// Every container that reaches the job listener would be admin.
		return usageErrorf("--job-network: refused with --auth=false: jobs would reach an API that takes every request as admin's")
	}
	return validateJobURL(o.jobURL)
}

func newLogger(env *cliEnv, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErrorf("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(env.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(env.stderr, opts)), nil
	}
	return nil, usageErrorf("--log-format: must be text or json, got %q", format)
}

// serve runs until ctx ends, then shuts down: HTTP first (waiters are
// released), then the controller and the collector.
func serve(ctx context.Context, env *cliEnv, o serveOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	log, err := newLogger(env, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	tlsConfig, err := serverTLS(o.tlsCert, o.tlsKey)
	if err != nil {
		return err
	}
	adminTok, err := adminToken(env, o, log)
	if err != nil {
		return err
	}
	store, err := sqlite.Open(ctx, filepath.Join(o.dataDir, "swarmjob.db"))
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	defer store.Close()
	// Set below, once the controller exists: a raised tenant cap wakes the
	// jobs it queued.
	var onPolicyChange func()
	policies, err := policy.NewKeeper(ctx, policy.KeeperConfig{
		File: o.policyFile, Store: store,
		Adjust: serverPolicy(env.getenv("DOCKER_HOST"), o.maxLogBytes),
		OnChange: func(st policy.State) {
			// The API logs a change it made, with the token that made it.
			if st.Source == policy.SourceFile {
				log.Info("policy file read again", "file", st.File, "tenants_with_own_rules", st.Policy.Tenants())
			}
			if onPolicyChange != nil {
				onPolicyChange()
			}
		},
	})
	if err != nil && o.policyFile != "" {
		return &usageError{fmt.Errorf("--policy: %w", err)}
	}
	if err != nil {
		return err
	}
	logPolicy(log, policies.State())
	if o.policyFile != "" {
		if _, _, stored, err := store.PolicyDocument(ctx); err == nil && stored {
			log.Warn("a policy set through the API is stored but ignored while --policy is given; it comes back if --policy is dropped", "file", o.policyFile)
		}
	}

	engine, err := dockerclient.New(dockerclient.FromEnv)
	if err != nil {
		return fmt.Errorf("configuring engine client: %w", err)
	}
	defer engine.Close()
	if err := checkEngine(ctx, engine); err != nil {
		// Not fatal: the engine may come later; /readyz reports it.
		log.Warn("engine not ready", "err", err)
	} else {
		warnTaskHistory(ctx, engine, log)
	}

	instance, err := store.InstanceID(ctx)
	if err != nil {
		return err
	}
	childKey, err := store.ChildTokenKey(ctx)
	if err != nil {
		return err
	}
	childTokens := auth.NewChildTokens(childKey)
	jobAPI, err := setupJobAPI(ctx, engine, o, childTokens, tlsConfig != nil, log)
	if err != nil {
		return err
	}
	hub := &jobs.Hub{}
	// One events stream: the controller, the collector and the API record
	// into it, and the API serves it.
	eventLog := events.NewRecorder(store, log)
	met := metrics.New()
	// The store stores each event with its change; once committed, it is
	// counted and announced to the stream's readers.
	store.OnEvents(met.CountEvents(eventLog.Announce))
	ctrl := controller.NewController(controller.Config{
		Engine: engine, Instance: instance, Store: store, Hub: hub, Logger: log,
		PollFast: o.pollFast, PollSlow: o.pollSlow, Resync: o.resync, MaxLogBytes: o.maxLogBytes,
		NodeLostGrace: o.nodeLost, Metrics: met,
		TenantLimit: func(tenant string) int { return policies.Policy().ActiveAttemptLimit(tenant) }, Tenants: store, JobAPI: jobAPI.api,
	})
	collector := gc.New(gc.Config{Engine: engine, Instance: instance, Store: store, Logger: log, Grace: o.orphanGrace, Interval: o.gcInterval,
		Expirer: store, RetentionAge: o.retainAge, RetentionCount: o.retainCount, Metrics: met})
	onPolicyChange = ctrl.WakeQueued
	// Only now: a reload's OnChange reads onPolicyChange.
	reloadPolicyOnHangup(ctx, log, policies)
	pruner := gc.NewPruner(gc.PrunerConfig{Store: store, Events: o.eventRet, Logger: log})
	// /metrics on the API listener, unless it has a listener of its own.
	apiMetrics := met.Handler()
	if o.metricsListen != "" {
		apiMetrics = nil
	}
	rateLimit := o.rateLimit
	if rateLimit == 0 {
		rateLimit = -1 // the flag's 0 is "no limit"
	}
	srv := api.NewServer(api.Config{
		Store: store, Hub: hub, Enqueuer: ctrl, Logger: log, Events: eventLog, Metrics: apiMetrics,
		Tokens: store, AdminToken: adminTok, InsecureNoAuth: !o.auth, Policy: policies,
		// The secrets and configs a job names must exist.
		Objects:   controller.Objects{Engine: engine},
		RateLimit: rateLimit, RateBurst: o.rateBurst,
		ChildJobs: jobAPI.api != nil, ChildTokens: childTokens,
		// Followed logs relay running attempts from the Engine.
		LiveLogs: engine,
		Ready: func(ctx context.Context) error {
			if err := store.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			return checkEngine(ctx, engine)
		},
	})

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	listeners := []net.Listener{ln}
	if o.metricsListen != "" {
		mln, err := net.Listen("tcp", o.metricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listening for metrics (--metrics-listen): %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", met.Handler())
		metricsServer := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := metricsServer.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", "err", err)
			}
		}()
		defer metricsServer.Close()
		log.Info("serving metrics", "addr", mln.Addr().String())
	}
	if jobAPI.listen != "" {
		jln, err := net.Listen("tcp", jobAPI.listen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listening for jobs (--job-network): %w", err)
		}
		listeners = append(listeners, jln)
	}
	// Requests see a context that ends at shutdown, so that long waits
	// return instead of holding the shutdown up.
	reqCtx, cancelRequests := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelRequests(api.ErrShuttingDown)
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Bodies are small (1 MiB cap); waits and log downloads need long
		// writes, which the handlers extend themselves.
		ReadTimeout:    time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: api.MaxHeaderBytes,
		TLSConfig:      tlsConfig,
		BaseContext:    func(net.Listener) context.Context { return reqCtx },
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := ctrl.Run(runCtx, o.workers); err != nil {
			log.Error("controller stopped", "err", err)
		}
	})
	wg.Go(func() { collector.Run(runCtx) })
	wg.Go(func() { pruner.Run(runCtx) })
	serveErr := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() {
			if tlsConfig != nil {
				// The certificate is in TLSConfig already.
				serveErr <- httpServer.ServeTLS(l, "", "")
				return
			}
			serveErr <- httpServer.Serve(l)
		}()
	}
	log.Info("swarmjob serving", "addr", ln.Addr().String(), "data_dir", o.dataDir, "instance", instance,
		"tls", tlsConfig != nil, "auth", o.auth)
	if a := jobAPI.api; a != nil {
		log.Info("jobs with childJobs reach the API", "network", a.Network, "url", a.URL, "extra_listener", jobAPI.listen)
	}

	select {
	case <-ctx.Done():
	case err = <-serveErr:
		log.Error("http server stopped", "err", err)
	}
	log.Info("shutting down")
	cancelRequests(api.ErrShuttingDown)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := httpServer.Shutdown(shutdownCtx); serr != nil {
		log.Warn("http shutdown", "err", serr)
	}
	stop()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving http: %w", err)
	}
	return nil
}

// checkEngine reports whether the engine answers and is a Swarm manager.
// warnTaskHistory warns when the Swarm keeps fewer than 2 tasks per slot: a
// stopped attempt's task (and its output) would be pruned as soon as the
// stop adds its pending replacement (controller stopSpec).
func warnTaskHistory(ctx context.Context, engine *dockerclient.Client, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := engine.SwarmInspect(ctx, dockerclient.SwarmInspectOptions{})
	if err != nil {
		return
	}
	if n := res.Swarm.Spec.Orchestration.TaskHistoryRetentionLimit; n != nil && *n < 2 {
		log.Warn("the Swarm's task history limit is below 2: what stopped attempts write after the stop signal is lost; raise it with: docker swarm update --task-history-limit 5",
			"task_history_limit", *n)
	}
}

func checkEngine(ctx context.Context, engine *dockerclient.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := engine.Info(ctx, dockerclient.InfoOptions{})
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	sw := info.Info.Swarm
	if sw.LocalNodeState != swarm.LocalNodeStateActive {
		return fmt.Errorf("engine: swarm mode is %q, not active (run docker swarm init)", sw.LocalNodeState)
	}
	if !sw.ControlAvailable {
		return errors.New("engine: this node is not a swarm manager")
	}
	return nil
}
