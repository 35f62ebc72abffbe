package jobs

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Limits and defaults of Spec.Secrets, Spec.Configs and Spec.MaxLogBytes.
const (
	MaxSecrets = 64
	MaxConfigs = 64
	// MaxFileRefNameLen is the Swarm's limit on secret and config names.
	MaxFileRefNameLen = 64
	// SecretsDir is where the Engine puts a secret whose target is a
	// relative file name.
	SecretsDir = "/run/secrets"
	// DefaultFileMode is the mode of a secret or config file that does not
	// give one, as the docker CLI makes it.
	DefaultFileMode fs.FileMode = 0o444
	// DefaultFileOwner is the uid and gid of a secret or config file that
	// does not give them.
	DefaultFileOwner = "0"
	// MaxLogBytesLimit is the largest maxLogBytes a job may ask for,
	// whatever its tenant's policy says.
	MaxLogBytesLimit = 1 << 30
)

// fileRefNameRE is the Swarm's rule for secret and config names
// (swarmkit's controlapi), without the length limit.
var fileRefNameRE = regexp.MustCompile(`^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$`)

// validOwner reports whether s is a numeric uid or gid (32 bits), as the
// Engine takes them for secret and config files.
func validOwner(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil && s != "" && s[0] != '+'
}

// ReservedDir holds the files swarmjob gives jobs (the CA of the job URL,
// for jobs with childJobs); no secret or config may land in it.
const ReservedDir = "/run/swarmjob"

// FileRef gives each attempt's container a Swarm secret or config as a
// file. The object is named, not embedded: it must exist in the Swarm when
// the job is submitted and again when each attempt is created, and the
// tenant's policy decides which names the job may use.
type FileRef struct {
	// Name is the secret's or config's name in the Swarm.
	Name string
	// Target is where the file appears in the container. For a secret:
	// a file name, relative to SecretsDir, or an absolute path; default
	// the name. For a config: an absolute path; default "/" + the name.
	Target string
	// UID and GID own the file, as numbers; default DefaultFileOwner.
	UID string
	GID string
	// Mode is the file's permission bits, at most 0777. The wire
	// conversion fills in DefaultFileMode when none is given, as 0 is a
	// mode of its own.
	Mode fs.FileMode
}

// SecretPath returns where secret target t appears in the container: t
// itself when absolute, else under SecretsDir.
func SecretPath(t string) string {
	if strings.HasPrefix(t, "/") {
		return t
	}
	return path.Join(SecretsDir, t)
}

// defaultFileRefs fills the unset targets and owners of the secrets and
// configs of s.
func (s *Spec) defaultFileRefs() {
	for i := range s.Secrets {
		s.Secrets[i].defaults(s.Secrets[i].Name)
	}
	for i := range s.Configs {
		s.Configs[i].defaults("/" + s.Configs[i].Name)
	}
}

func (f *FileRef) defaults(target string) {
	if f.Target == "" {
		f.Target = target
	}
	if f.UID == "" {
		f.UID = DefaultFileOwner
	}
	if f.GID == "" {
		f.GID = DefaultFileOwner
	}
}

// validateFileRefs checks the secrets and configs of s and its log cap. No
// two of the files may have the same path in the container. Whether the
// names exist, and whether the tenant may use them, is checked elsewhere
// (the API server and package policy).
func (s Spec) validateFileRefs() error {
	if s.MaxLogBytes < 0 || s.MaxLogBytes > MaxLogBytesLimit {
		return Errorf(EINVALID, "maxLogBytes: must be between 1 and %d, got %d", MaxLogBytesLimit, s.MaxLogBytes)
	}
	if len(s.Secrets) > MaxSecrets {
		return Errorf(EINVALID, "secrets: at most %d secrets are allowed", MaxSecrets)
	}
	if len(s.Configs) > MaxConfigs {
		return Errorf(EINVALID, "configs: at most %d configs are allowed", MaxConfigs)
	}
	// paths maps each file's path in the container to the field that
	// put it there.
	paths := make(map[string]string, len(s.Secrets)+len(s.Configs))
	for _, set := range []struct {
		field  string
		refs   []FileRef
		secret bool
	}{{"secrets", s.Secrets, true}, {"configs", s.Configs, false}} {
		for i, f := range set.refs {
			if err := f.validate(set.field, i, set.secret); err != nil {
				return err
			}
			p := f.Target
			if set.secret {
				p = SecretPath(p)
			}
			if other, dup := paths[p]; dup {
				return Errorf(EINVALID, "%s[%d].target: %s is also the target of %s", set.field, i, p, other)
			}
			paths[p] = fmt.Sprintf("%s[%d]", set.field, i)
		}
	}
	return nil
}

// validate checks one secret (secret) or config, field[i].
func (f FileRef) validate(field string, i int, secret bool) error {
	if f.Name == "" {
		return Errorf(EINVALID, "%s[%d].name: is required", field, i)
	}
	if len(f.Name) > MaxFileRefNameLen || !fileRefNameRE.MatchString(f.Name) {
		return Errorf(EINVALID, "%s[%d].name: %q must be at most %d letters, digits, '-', '_' and '.', starting and ending with a letter or digit (the Swarm's rule)",
			field, i, truncate(f.Name), MaxFileRefNameLen)
	}
	var problem string
	if secret && !strings.HasPrefix(f.Target, "/") {
		problem = relativeTargetProblem(f.Target)
	} else {
		problem = mountTargetProblem(f.Target)
		if !secret && problem != "" {
			problem += " (a config's target is absolute)"
		}
	}
	if problem == "" && secret {
		if p := SecretPath(f.Target); p == ReservedDir || strings.HasPrefix(p, ReservedDir+"/") {
			problem = "is under " + ReservedDir + ", which swarmjob keeps for its own files"
		}
	} else if problem == "" && (f.Target == ReservedDir || strings.HasPrefix(f.Target, ReservedDir+"/")) {
		problem = "is under " + ReservedDir + ", which swarmjob keeps for its own files"
	}
	if problem != "" {
		return Errorf(EINVALID, "%s[%d].target: %s", field, i, problem)
	}
	if !validOwner(f.UID) {
		return Errorf(EINVALID, "%s[%d].uid: must be a numeric user ID, got %q", field, i, truncate(f.UID))
	}
	if !validOwner(f.GID) {
		return Errorf(EINVALID, "%s[%d].gid: must be a numeric group ID, got %q", field, i, truncate(f.GID))
	}
	if f.Mode&^fs.ModePerm != 0 {
		return Errorf(EINVALID, "%s[%d].mode: must be permission bits between 0 and 0777 (511), got %d", field, i, uint32(f.Mode))
	}
	return nil
}

// relativeTargetProblem says what is wrong with a secret's relative target,
// "" when it is a clean relative path that stays under SecretsDir.
func relativeTargetProblem(t string) string {
	switch {
	case t == "":
		return "is required"
	case len(t) > MaxMountPathLen || !pathChars(t):
		return "must be at most 4096 characters without control characters"
	case t == "." || t == ".." || strings.HasPrefix(t, "../") || path.Clean(t) != t:
		return "must be a file name under " + SecretsDir + " without '.', '..', '//' or a trailing '/', or an absolute path"
	}
	return ""
}
