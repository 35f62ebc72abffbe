package api

import (
	"context"
	"log/slog"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/swarmjob/swarmjob/jobs"
)

// SwarmObjects resolves the names of the Swarm secrets and configs that jobs
// ask for, so that POST /v1/jobs refuses a job naming one that does not
// exist rather than storing a job whose every attempt would fail.
// controller.Objects implements it over the Engine. Its methods are called
// from request handlers, concurrently.
type SwarmObjects interface {
	// SecretIDs and ConfigIDs return the ID of each named object, by
	// name. A name that no object has exactly is an error for which
	// errdefs.IsNotFound holds and whose message names it, returned with
	// the IDs of the names that were found; any other error means the
	// Swarm could not be asked.
	SecretIDs(ctx context.Context, names []string) (map[string]string, error)
	ConfigIDs(ctx context.Context, names []string) (map[string]string, error)
}

// checkObjects returns an EINVALID error naming the first secret or config
// of spec that does not exist in the Swarm, and EUNAVAIL when the Swarm
// cannot tell now. It runs after the policy, so that a tenant never learns
// whether a secret it may not use exists. Without Config.Objects it checks
// nothing: the attempts of such a job then fail with reason CreateFailed.
func (s *Server) checkObjects(ctx context.Context, spec jobs.Spec) error {
	if s.objects == nil {
		return nil
	}
	for _, set := range []struct {
		field, kind string
		refs        []jobs.FileRef
		resolve     func(context.Context, []string) (map[string]string, error)
	}{
		{"secrets", "secret", spec.Secrets, s.objects.SecretIDs},
		{"configs", "config", spec.Configs, s.objects.ConfigIDs},
	} {
		if len(set.refs) == 0 {
			continue
		}
		names := make([]string, 0, len(set.refs))
		for _, f := range set.refs {
			names = append(names, f.Name)
		}
		ids, err := set.resolve(ctx, names)
		switch {
		case err != nil && !cerrdefs.IsNotFound(err):
			s.log.LogAttrs(ctx, slog.LevelWarn, "looking up swarm objects",
				slog.String("kind", set.kind), slog.Any("err", err))
			return jobs.Errorf(jobs.EUNAVAIL, "%s: the Swarm could not be asked whether they exist; try again", set.field)
		case err != nil:
			// Find which one, to name its field.
			for i, f := range set.refs {
				if _, ok := ids[f.Name]; !ok {
					return jobs.Errorf(jobs.EINVALID, "%s[%d].name: %s %q does not exist in the Swarm", set.field, i, set.kind, f.Name)
				}
			}
			return jobs.Errorf(jobs.EINVALID, "%s: %s", set.field, err.Error())
		}
	}
	return nil
}
