package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// AdminTokenFile is the name of the file, in the server's data directory,
// that holds the bootstrap admin token the server generated.
const AdminTokenFile = "admin-token"

// maxTokenFile bounds what is read of a token file.
const maxTokenFile = 4096

// LoadOrCreateTokenFile returns the token kept in the file at path, creating
// the file with a new random token (mode 0600, written and synced before it
// returns) when it does not exist; created tells which. It refuses a file
// that other users may read or write, or that does not hold a valid token.
// Two processes racing to create the file end up with the same token.
func LoadOrCreateTokenFile(path string) (token string, created bool, err error) {
	token, err = ReadTokenFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return token, false, err
	}
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", false, fmt.Errorf("generating admin token: %w", err)
	}
	token = "sja_" + base64.RawURLEncoding.EncodeToString(b)
	// Written whole to a temporary file, then linked into place, which
	// fails if the file exists: a reader never sees a partial token, and
	// of racing starts the first link wins.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", false, fmt.Errorf("creating admin token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(token + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", false, fmt.Errorf("writing admin token file: %w", werr)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		token, err = ReadTokenFile(path)
		return token, false, err
	} else if err != nil {
		return "", false, fmt.Errorf("creating admin token file: %w", err)
	}
	return token, true, nil
}

// ReadTokenFile returns the token held in the file at path: its content
// without surrounding white space. It refuses a file that other users may
// read or write (a token there is no secret any more) and content that is
// not a valid token. An error wraps fs.ErrNotExist when the file does not
// exist. The error never quotes the content.
func ReadTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading token file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("reading token file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("token file %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("token file %s: mode %#o lets other users read or change it; run chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("reading token file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if len(b) > maxTokenFile || ValidateAdminToken(token) != nil {
		return "", fmt.Errorf("token file %s: does not hold a token of %d to %d characters of letters, digits and -._~+/", path, MinAdminTokenLen, maxTokenLen)
	}
	return token, nil
}
