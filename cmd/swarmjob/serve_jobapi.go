package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/controller"
)

// gatewayBridge is the bridge through which Swarm tasks on overlay networks
// reach their own node: its gateway address is that node's host.
const gatewayBridge = "docker_gwbridge"

// jobAPISetup is how the attempts of jobs with childJobs reach the API:
// what the controller gives them, and where the server listens for them
// besides --listen.
type jobAPISetup struct {
	api *controller.JobAPI
	// listen is the address of the extra listener for jobs, "" for none
	// (--listen reaches them already, or --job-url names another way in).
	listen string
}

// setupJobAPI prepares the access of jobs to the API when --job-network is
// given: it makes sure the network exists (an attachable overlay, created
// when missing) and works out the URL jobs use: --job-url, or else the
// gateway of docker_gwbridge (this node's host as its tasks see it) at
// --listen's port, on which the server then also listens unless --listen is
// a wildcard address. The token is the job's child-job token of tokens.
func setupJobAPI(ctx context.Context, engine *dockerclient.Client, o serveOptions, tokens *auth.ChildTokens, tls bool, log *slog.Logger) (jobAPISetup, error) {
	if o.jobNetwork == "" {
		return jobAPISetup{}, nil
	}
	if err := ensureJobNetwork(ctx, engine, o.jobNetwork, log); err != nil {
		return jobAPISetup{}, err
	}
	setup := jobAPISetup{api: &controller.JobAPI{Network: o.jobNetwork, URL: o.jobURL, Token: tokens.Token}}
	if o.jobURL == "" {
		if err := setup.defaultURL(ctx, engine, o, tls, log); err != nil {
			return jobAPISetup{}, err
		}
	}
	// Without a certificate of ours (an https --job-url in front of a
	// proxy with a public certificate), jobs trust what their image does.
	if caFile := cmp.Or(o.jobCACert, o.tlsCert); strings.HasPrefix(setup.api.URL, "https:") && caFile != "" {
		ca, err := jobCA(ctx, engine, caFile, setup.api.URL, log)
		if err != nil {
			return jobAPISetup{}, err
		}
		setup.api.CA = ca
	}
	return setup, nil
}

// defaultURL sets the URL of the API for jobs when --job-url is not given:
// this node's docker_gwbridge gateway at --listen's port, listening there
// too unless --listen is a wildcard address.
func (setup *jobAPISetup) defaultURL(ctx context.Context, engine *dockerclient.Client, o serveOptions, tls bool, log *slog.Logger) error {
	host, port, err := net.SplitHostPort(o.listen)
	if err != nil {
		return usageErrorf("--listen: %v", err)
	}
	gw, err := bridgeGateway(ctx, engine)
	if err != nil {
		return fmt.Errorf("--job-network: finding the address jobs reach this host at: %w; give --job-url", err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		// --listen does not reach the gateway (an empty host, like
		// 0.0.0.0 and ::, listens everywhere already).
		setup.listen = net.JoinHostPort(gw, port)
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	setup.api.URL = (&url.URL{Scheme: scheme, Host: net.JoinHostPort(gw, port)}).String()
	if n, err := nodeCount(ctx, engine); err == nil && n > 1 {
		log.Warn("jobs reach the API at this node's docker_gwbridge address, which only attempts on this node can reach; give --job-url with an address of this node that every node reaches",
			"job_url", setup.api.URL, "nodes", n)
	}
	return nil
}

// jobCA makes the certificates of caFile (PEM) available to jobs as a Swarm
// config, so that the CLI in a job trusts the https job URL. The config is
// named after a hash of its content, so a restart with the same file reuses
// it and a new file makes a new one; Swarm configs cannot change. It warns
// when the first certificate of caFile is a leaf that does not cover the
// URL's host, the usual mistake with the default URL (an IP address).
func jobCA(ctx context.Context, engine *dockerclient.Client, caFile, jobURL string, log *slog.Logger) (*swarm.ConfigReference, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--job-ca-cert: %w", err)
	}
	var first *x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil && first == nil && block.Type == "CERTIFICATE" {
			first = c
		}
	}
	if first == nil {
		return nil, usageErrorf("--job-ca-cert: %s holds no PEM certificate", caFile)
	}
	if u, err := url.Parse(jobURL); err == nil && !first.IsCA {
		if err := first.VerifyHostname(u.Hostname()); err != nil {
			log.Warn("the certificate jobs are given does not cover the job URL's host: their https requests will fail; add it to the certificate or give --job-url",
				"job_url", jobURL, "err", err)
		}
	}
	sum := sha256.Sum256(data)
	name := "swarmjob-job-ca-" + hex.EncodeToString(sum[:6])
	ids, err := controller.Objects{Engine: engine}.ConfigIDs(ctx, []string{name})
	if err == nil {
		return &swarm.ConfigReference{ConfigID: ids[name], ConfigName: name}, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("--job-network: %w", err)
	}
	res, err := engine.ConfigCreate(ctx, dockerclient.ConfigCreateOptions{Spec: swarm.ConfigSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{controller.LabelManaged: "true"}},
		Data:        data,
	}})
	if err != nil {
		return nil, fmt.Errorf("--job-network: creating config %s for the job CA: %w", name, err)
	}
	log.Info("jobs with childJobs trust the certificates of a Swarm config", "config", name, "file", caFile)
	return &swarm.ConfigReference{ConfigID: res.ID, ConfigName: name}, nil
}

// ensureJobNetwork checks that the network name is a swarm-scoped network,
// creating it as an attachable overlay when it does not exist.
func ensureJobNetwork(ctx context.Context, engine *dockerclient.Client, name string, log *slog.Logger) error {
	res, err := engine.NetworkInspect(ctx, name, dockerclient.NetworkInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		if _, err := engine.NetworkCreate(ctx, name, dockerclient.NetworkCreateOptions{
			Driver: "overlay", Attachable: true,
			Labels: map[string]string{controller.LabelManaged: "true"},
		}); err != nil && !cerrdefs.IsConflict(err) {
			return fmt.Errorf("--job-network: creating overlay network %q: %w", name, err)
		}
		log.Info("created the job network", "network", name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("--job-network: inspecting network %q: %w", name, err)
	}
	if res.Network.Scope != "swarm" {
		return usageErrorf("--job-network: network %q is a %s %s network; Swarm services need a swarm-scoped one (an attachable overlay: docker network create -d overlay --attachable %s)",
			name, res.Network.Scope, res.Network.Driver, name)
	}
	return nil
}

// bridgeGateway returns the gateway address of docker_gwbridge on the
// engine's node.
func bridgeGateway(ctx context.Context, engine *dockerclient.Client) (string, error) {
	res, err := engine.NetworkInspect(ctx, gatewayBridge, dockerclient.NetworkInspectOptions{})
	if err != nil {
		return "", err
	}
	for _, c := range res.Network.IPAM.Config {
		if c.Gateway.IsValid() && c.Gateway.Is4() {
			return c.Gateway.String(), nil
		}
	}
	return "", fmt.Errorf("%s has no IPv4 gateway", gatewayBridge)
}

func nodeCount(ctx context.Context, engine *dockerclient.Client) (int, error) {
	res, err := engine.NodeList(ctx, dockerclient.NodeListOptions{})
	if err != nil {
		return 0, err
	}
	return len(res.Items), nil
}

// validateJobURL checks --job-url.
func validateJobURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return usageErrorf("--job-url: must be an http or https URL such as http://10.0.0.5:8080, got %q", s)
	}
	if p := u.Port(); p != "" {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return usageErrorf("--job-url: bad port %q", p)
		}
	}
	return nil
}
