package controller

import (
	"github.com/moby/moby/api/types/mount"

	"github.com/swarmjob/swarmjob/jobs"
)

// containerMounts returns the Engine mounts of a job's mounts, in order, or
// nil for none. The job's mounts were checked against its tenant's policy at
// submission; nothing here adds options: a volume mount carries no driver
// options (a volume that does not exist is created by the default driver,
// empty), and a bind mount keeps the Engine's default propagation
// (rprivate).
func containerMounts(ms []jobs.Mount) []mount.Mount {
	if len(ms) == 0 {
		return nil
	}
	out := make([]mount.Mount, 0, len(ms))
	for _, m := range ms {
		out = append(out, mount.Mount{
			Type:     mount.Type(m.Type),
			Source:   m.Source,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
		})
	}
	return out
}
