package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"

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

// loadPolicy returns the policy of --policy, or the default one, refusing
// also bind mounts of the Engine socket that dockerHost names.
func loadPolicy(path, dockerHost string) (*policy.Policy, error) {
	p := policy.Default()
	if path != "" {
		var err error
		if p, err = policy.Load(path); err != nil {
			return nil, &usageError{fmt.Errorf("--policy: %w", err)}
		}
	}
	if sock, ok := strings.CutPrefix(dockerHost, "unix://"); ok && sock != "" {
		p = p.DenyPaths(sock)
	}
	return p, nil
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
