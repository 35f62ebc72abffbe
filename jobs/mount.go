package jobs

import (
	"path"
	"regexp"
	"strings"
)

// MountType is the kind of a Mount.
type MountType string

// Mount types. Bind mounts a path of the node the attempt runs on, volume a
// named Engine volume (created by the Engine's default driver when it does
// not exist), tmpfs a memory file system.
const (
	MountBind   MountType = "bind"
	MountVolume MountType = "volume"
	MountTmpfs  MountType = "tmpfs"
)

// Limits of Spec.Mounts.
const (
	MaxMounts       = 32
	MaxMountPathLen = 4096
)

// volumeNameRE is the Engine's rule for volume names.
var volumeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{1,254}$`)

// Mount is a file system attached to each attempt's container at Target.
type Mount struct {
	Type MountType
	// Source is the host path (bind) or the volume name (volume); tmpfs
	// has none.
	Source   string
	Target   string
	ReadOnly bool
}

// validateMounts checks the form of each mount. It does not decide whether a
// bind source is allowed: that is the tenant policy's job, which needs to see
// every spelling of a path (trailing slashes, "..", "//") to refuse it by the
// rule it breaks rather than as malformed.
func validateMounts(ms []Mount) error {
	if len(ms) > MaxMounts {
		return Errorf(EINVALID, "mounts: at most %d mounts are allowed", MaxMounts)
	}
	targets := make(map[string]bool, len(ms))
	for i, m := range ms {
		if p := mountTargetProblem(m.Target); p != "" {
			return Errorf(EINVALID, "mounts[%d].target: %s", i, p)
		}
		if targets[m.Target] {
			return Errorf(EINVALID, "mounts[%d].target: %q is the target of another mount", i, m.Target)
		}
		targets[m.Target] = true
		switch m.Type {
		case MountBind:
			if m.Source == "" || !strings.HasPrefix(m.Source, "/") || len(m.Source) > MaxMountPathLen || !pathChars(m.Source) {
				return Errorf(EINVALID, "mounts[%d].source: a bind mount needs an absolute host path of at most %d characters without control characters", i, MaxMountPathLen)
			}
		case MountVolume:
			if !volumeNameRE.MatchString(m.Source) {
				return Errorf(EINVALID, "mounts[%d].source: a volume mount needs a volume name of 2-255 letters, digits, '_', '.' and '-', starting with a letter or digit", i)
			}
		case MountTmpfs:
			if m.Source != "" {
				return Errorf(EINVALID, "mounts[%d].source: a tmpfs mount has no source", i)
			}
		default:
			return Errorf(EINVALID, "mounts[%d].type: must be %s, %s or %s, got %q", i, MountBind, MountVolume, MountTmpfs, truncate(string(m.Type)))
		}
	}
	return nil
}

// mountTargetProblem says what is wrong with a mount target, "" when it is
// a clean absolute container path other than "/".
func mountTargetProblem(t string) string {
	switch {
	case t == "":
		return "is required"
	case len(t) > MaxMountPathLen || !pathChars(t):
		return "must be at most 4096 characters without control characters"
	case !strings.HasPrefix(t, "/") || path.Clean(t) != t:
		return "must be a clean absolute path, without '.', '..', '//' or a trailing '/'"
	case t == "/":
		return "must not be the container's root"
	}
	return ""
}

// pathChars reports whether a path holds no control or format characters.
func pathChars(s string) bool { return printable(s) }
