package controller

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/jobs"
)

// Labels every managed service (and its containers) carries. swarmjob never
// touches a Swarm object without LabelManaged.
const (
	LabelManaged = "io.swarmjob.managed"
	// LabelInstance names the swarmjob instance (its store) that owns the
	// object; instances sharing a Swarm never touch each other's objects.
	LabelInstance = "io.swarmjob.instance"
	LabelJob      = "io.swarmjob.job"
	LabelIndex    = "io.swarmjob.index"
	LabelAttempt  = "io.swarmjob.attempt"
)

// Labels of a service whose attempt swarmjob is stopping (stopSpec): why, and
// since when. They are set with the stop itself, in one update, so that the
// service tells how its task ended whatever happens to the job meanwhile.
const (
	LabelStopReason  = "io.swarmjob.stop.reason"
	LabelStopMessage = "io.swarmjob.stop.message"
	LabelStopFailure = "io.swarmjob.stop.failure"
	LabelStopAt      = "io.swarmjob.stop.at"
)

// stopConstraints can be met by no node: a service updated to them has its
// task shut down (with the stop signal and grace period) and replaced by a
// task that stays pending, where scaling it to zero would remove the task's
// container, and its logs, as soon as it exits.
var stopConstraints = []string{"node.labels.io.swarmjob.stopped==true", "node.labels.io.swarmjob.stopped!=true"}

// stopSpec returns spec changed so that Swarm stops its task and keeps the
// task's container (and output), with why and at in its labels.
func stopSpec(spec swarm.ServiceSpec, why stopReason, at time.Time) swarm.ServiceSpec {
	labels := maps.Clone(spec.Labels)
	labels[LabelStopReason], labels[LabelStopMessage] = why.Reason, why.Message
	labels[LabelStopFailure] = strconv.FormatBool(why.Failure)
	labels[LabelStopAt] = at.UTC().Format(time.RFC3339Nano)
	spec.Labels = labels
	placement := swarm.Placement{}
	if spec.TaskTemplate.Placement != nil {
		placement = *spec.TaskTemplate.Placement
	}
	placement.Constraints = append(slices.Clone(placement.Constraints), stopConstraints...)
	spec.TaskTemplate.Placement = &placement
	// Stop first: the old task is shut down before its (pending)
	// replacement is created.
	spec.UpdateConfig = &swarm.UpdateConfig{Parallelism: 1, Order: swarm.UpdateOrderStopFirst, FailureAction: swarm.UpdateFailureActionContinue}
	return spec
}

// stopOf reads the stop labels of a service; ok is false when swarmjob did
// not stop it.
func stopOf(labels map[string]string) (why stopReason, at time.Time, ok bool) {
	reason := labels[LabelStopReason]
	if reason == "" {
		return stopReason{}, time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, labels[LabelStopAt])
	if err != nil {
		return stopReason{}, time.Time{}, false
	}
	return stopReason{Reason: reason, Message: labels[LabelStopMessage], Failure: labels[LabelStopFailure] == "true"}, at, true
}

// Variables every attempt's container sees.
const (
	EnvJobID   = "SWARMJOB_JOB_ID"
	EnvIndex   = "SWARMJOB_INDEX"
	EnvAttempt = "SWARMJOB_ATTEMPT"
)

// ServiceName is the deterministic name of the service that runs attempt
// attempt of index index of job jobID. Swarm refuses a second service of the
// same name, which is what makes creation idempotent across crashes.
func ServiceName(jobID string, index, attempt int) string {
	return fmt.Sprintf("swarmjob-%s-%d-%d", jobID, index, attempt)
}

// ManagedFilterLabel is the label filter that selects every managed object.
const ManagedFilterLabel = LabelManaged + "=true"

// OwnedFilters selects the managed objects of one instance (for listing
// and events): Engine label
// filters with several values match objects that carry all of them.
func OwnedFilters(instance string) client.Filters {
	return make(client.Filters).Add("label", ManagedFilterLabel, LabelInstance+"="+instance)
}

// serviceSpec builds the Swarm service of one attempt: a replicated service
// with one replica that is never restarted, so that its single task's final
// state is the attempt's outcome. It does no I/O.
func serviceSpec(instance string, j *jobs.Job, index, attempt int) swarm.ServiceSpec {
	labels := map[string]string{
		LabelManaged:  "true",
		LabelInstance: instance,
		LabelJob:      j.ID,
		LabelIndex:    strconv.Itoa(index),
		LabelAttempt:  strconv.Itoa(attempt),
	}
	s := j.Spec
	env := make([]string, 0, len(s.Env)+3)
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		env = append(env, k+"="+s.Env[k])
	}
	env = append(env,
		EnvJobID+"="+j.ID,
		EnvIndex+"="+strconv.Itoa(index),
		EnvAttempt+"="+strconv.Itoa(attempt),
	)
	one := uint64(1)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: ServiceName(j.ID, index, attempt), Labels: labels},
		Mode:        swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:   s.Image,
				Command: slices.Clone(s.Command),
				Args:    slices.Clone(s.Args),
				Env:     env,
				Dir:     s.WorkingDir,
				User:    s.User,
				// Container labels let Engine container events name the job.
				Labels: maps.Clone(labels),
				Mounts: containerMounts(s.Mounts),
				// By name; the controller fills in the IDs before the
				// create (resolveObjects).
				Secrets: secretReferences(s.Secrets),
				Configs: configReferences(s.Configs),
			},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
		},
	}
	if g := s.StopGracePeriodSeconds; g != nil {
		grace := time.Duration(*g) * time.Second
		spec.TaskTemplate.ContainerSpec.StopGracePeriod = &grace
	}
	if r := s.Resources; r != (jobs.Resources{}) {
		spec.TaskTemplate.Resources = &swarm.ResourceRequirements{}
		if r.Limits != (jobs.ResourceAmounts{}) {
			spec.TaskTemplate.Resources.Limits = &swarm.Limit{NanoCPUs: nanoCPUs(r.Limits.CPUs), MemoryBytes: r.Limits.MemoryBytes}
		}
		if r.Reservations != (jobs.ResourceAmounts{}) {
			spec.TaskTemplate.Resources.Reservations = &swarm.Resources{NanoCPUs: nanoCPUs(r.Reservations.CPUs), MemoryBytes: r.Reservations.MemoryBytes}
		}
	}
	if len(s.Placement.Constraints) > 0 {
		spec.TaskTemplate.Placement = &swarm.Placement{Constraints: slices.Clone(s.Placement.Constraints)}
	}
	for _, n := range s.Networks {
		spec.TaskTemplate.Networks = append(spec.TaskTemplate.Networks, swarm.NetworkAttachmentConfig{Target: n})
	}
	return spec
}

func nanoCPUs(cpus float64) int64 { return int64(cpus * 1e9) }

// AttemptOf parses the labels of a managed object; ok is false when the
// object is not a well-formed attempt of instance, and so not to be touched.
func AttemptOf(instance string, labels map[string]string) (jobID string, index, attempt int, ok bool) {
	if labels[LabelManaged] != "true" || labels[LabelInstance] != instance || labels[LabelJob] == "" {
		return "", 0, 0, false
	}
	index, err1 := strconv.Atoi(labels[LabelIndex])
	attempt, err2 := strconv.Atoi(labels[LabelAttempt])
	if err1 != nil || err2 != nil || index < 0 || attempt < 0 {
		return "", 0, 0, false
	}
	return labels[LabelJob], index, attempt, true
}
