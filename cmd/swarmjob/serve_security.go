package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/policy"
)

// adminToken returns the bootstrap admin token of serve: $SWARMJOB_ADMIN_TOKEN,
// the content of the file $SWARMJOB_ADMIN_TOKEN_FILE names, or the one kept
// in <data-dir>/admin-token, created (0600) on first start.
// It logs where the token comes from, never the token. With authentication
// off it returns "" and refuses any listener but a loopback one.
func adminToken(env *cliEnv, o serveOptions, log *slog.Logger) (string, error) {
	if !o.auth {
		if !loopback(o.listen) {
			return "", usageErrorf("--auth=false: only allowed with a loopback --listen address (127.0.0.1, ::1, localhost), got %q", o.listen)
		}
		log.Warn("authentication is off (--auth=false): every local user and process can run containers on the swarm through this server")
		return "", nil
	}
	if t := env.getenv("SWARMJOB_ADMIN_TOKEN"); t != "" {
		if err := auth.ValidateAdminToken(t); err != nil {
			return "", usageErrorf("SWARMJOB_ADMIN_TOKEN: %s", strings.TrimPrefix(jobs.ErrorMessage(err), "admin token: "))
		}
		log.Info("admin token from SWARMJOB_ADMIN_TOKEN")
		return t, nil
	}
	if p := env.getenv("SWARMJOB_ADMIN_TOKEN_FILE"); p != "" {
		// A Docker secret, when swarmjob runs as a service (mode 0400).
		t, err := auth.ReadTokenFile(p)
		if err != nil {
			return "", usageErrorf("SWARMJOB_ADMIN_TOKEN_FILE: %v", err)
		}
		log.Info("admin token from SWARMJOB_ADMIN_TOKEN_FILE", "file", p)
		return t, nil
	}
	path := filepath.Join(o.dataDir, auth.AdminTokenFile)
	t, created, err := auth.LoadOrCreateTokenFile(path)
	if err != nil {
		return "", err
	}
	if created {
		log.Info("admin token created; give it to the CLI with SWARMJOB_TOKEN_FILE or SWARMJOB_TOKEN", "file", path)
	} else {
		log.Info("admin token loaded", "file", path)
	}
	return t, nil
}

// loopback reports whether addr (host:port) listens on a loopback address
// only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serverPolicy returns what the server adds to every policy it puts in
// force: bind mounts of the Engine socket that dockerHost names are refused
// too, and a job's unset maxLogBytes is maxLogBytes (--max-log-bytes)
// lowered to its tenant's ceiling, which is also the ceiling of tenants
// without one.
func serverPolicy(dockerHost string, maxLogBytes int64) func(*policy.Policy) *policy.Policy {
	return func(p *policy.Policy) *policy.Policy {
		if sock, ok := strings.CutPrefix(dockerHost, "unix://"); ok && sock != "" {
			p = p.DenyPaths(sock)
		}
		return p.WithDefaultLogBytes(maxLogBytes)
	}
}

// logPolicy says which policy the server starts with.
func logPolicy(log *slog.Logger, st policy.State) {
	switch st.Source {
	case policy.SourceFile:
		log.Info("policy loaded; SIGHUP reads it again", "file", st.File, "tenants_with_own_rules", st.Policy.Tenants())
	case policy.SourceAPI:
		log.Info("policy: as set through the API", "since", st.Since, "tenants_with_own_rules", st.Policy.Tenants())
	default:
		log.Info("policy: built-in defaults (no bind mounts, each tenant's own volumes, secrets and configs, any image); --policy or PUT /v1/policy sets one")
	}
}

// reloadPolicyOnHangup reads the policy file again at every SIGHUP until
// ctx ends. A file that fails to load leaves the policy in force.
func reloadPolicyOnHangup(ctx context.Context, log *slog.Logger, policies *policy.Keeper) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			if policies.State().Source != policy.SourceFile {
				log.Warn("SIGHUP: no policy file to read again (serve --policy); ignored")
				continue
			}
			if _, err := policies.Reload(); err != nil {
				log.Error("SIGHUP: the policy file did not load; the policy in force stays", "err", err)
			}
		}
	}()
}

// serverTLS returns the TLS configuration of --tls-cert and --tls-key, nil
// when neither is given. The files are read once, at start.
func serverTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, &usageError{fmt.Errorf("--tls-cert, --tls-key: %w", err)}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
