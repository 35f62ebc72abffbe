package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/swarmjob/swarmjob/auth"
)

// defaultTokenFile is where the CLI looks for a token when it is given none:
// the admin token that `swarmjob serve` writes into its default data
// directory (./data, as make demo uses), so that the CLI works out of the
// box next to a local server started from the same directory.
var defaultTokenFile = filepath.Join("data", auth.AdminTokenFile)

// token returns the bearer token of the CLI, from the first of: --token,
// $SWARMJOB_TOKEN, the file $SWARMJOB_TOKEN_FILE names, ./data/admin-token.
// It returns "" when there is none, and an error when a file named by
// $SWARMJOB_TOKEN_FILE cannot be read, or a token file found is unsafe
// (readable by others) or holds no token. Errors never quote a token.
func (e *cliEnv) token() (string, error) {
	if e.tokenFlag != "" {
		return e.tokenFlag, nil
	}
	if t := e.getenv("SWARMJOB_TOKEN"); t != "" {
		return t, nil
	}
	if path := e.getenv("SWARMJOB_TOKEN_FILE"); path != "" {
		t, err := auth.ReadTokenFile(path)
		if err != nil {
			return "", fmt.Errorf("SWARMJOB_TOKEN_FILE: %w", err)
		}
		return t, nil
	}
	t, err := auth.ReadTokenFile(defaultTokenFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return t, err
}

// httpClient returns the HTTP client of the CLI: the default one, or one
// that trusts only the CA certificates of the PEM file --ca-cert (or
// $SWARMJOB_CA_CERT) names, for a server whose certificate is self-signed
// or from a private CA.
func (e *cliEnv) httpClient() (*http.Client, error) {
	if e.caCert == "" {
		return http.DefaultClient, nil
	}
	pem, err := os.ReadFile(e.caCert)
	if err != nil {
		return nil, &usageError{fmt.Errorf("--ca-cert: %w", err)}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usageErrorf("--ca-cert: %s holds no PEM certificate", e.caCert)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}

// unauthorizedHint is added to a 401 the CLI reports.
const unauthorizedHint = "give a token of this server in SWARMJOB_TOKEN (or --token, or a file named by SWARMJOB_TOKEN_FILE); " +
	"the server's admin token is in its data directory, <data-dir>/" + auth.AdminTokenFile
