package controller

import (
	"slices"

	"github.com/moby/moby/api/types/swarm"

	"github.com/swarmjob/swarmjob/jobs"
)

// JobAPI is how the attempts of jobs with childJobs reach swarmjob's API to
// start child jobs: the URL they are given, the network they are attached
// to, and the job's child-job token.
type JobAPI struct {
	// URL is given to the attempts as SWARMJOB_URL.
	URL string
	// Network (an attachable overlay) is attached to the attempts, so that
	// they can reach URL.
	Network string
	// Token returns the child-job token of a job (auth.ChildTokens.Token),
	// given to its attempts as SWARMJOB_TOKEN.
	Token func(jobID string) string
	// CA, when set, is a Swarm config holding the certificates that URL's
	// server certificate chains to: it is mounted at CAPath and named by
	// SWARMJOB_CA_CERT, so that the CLI in the job trusts an https URL.
	CA *swarm.ConfigReference
}

// CAPath is where the attempts of jobs with childJobs find JobAPI.CA.
const CAPath = jobs.ReservedDir + "/ca.pem"

// EnvCACert names the CA file; the swarmjob CLI reads it.
const EnvCACert = "SWARMJOB_CA_CERT"

// withJobAPI adds to spec, the service of an attempt of j, what the attempt
// needs to reach the API when j may start child jobs: the URL, the token and
// the network. Other jobs' services are left as they are; so is every
// service when api is nil (the server allows no child jobs: such jobs were
// refused at submission, or submitted to an earlier run of the server with
// them allowed, and then run without the API).
func withJobAPI(spec *swarm.ServiceSpec, j *jobs.Job, api *JobAPI) {
	if api == nil || j.Spec.ChildJobs == nil {
		return
	}
	cs := spec.TaskTemplate.ContainerSpec
	cs.Env = append(cs.Env, jobs.EnvURL+"="+api.URL, jobs.EnvToken+"="+api.Token(j.ID))
	if api.CA != nil {
		ca := *api.CA
		ca.File = &swarm.ConfigReferenceFileTarget{Name: CAPath, UID: "0", GID: "0", Mode: 0o444}
		cs.Configs = append(cs.Configs, &ca)
		cs.Env = append(cs.Env, EnvCACert+"="+CAPath)
	}
	if api.Network != "" && !slices.ContainsFunc(spec.TaskTemplate.Networks, func(n swarm.NetworkAttachmentConfig) bool {
		return n.Target == api.Network
	}) {
		spec.TaskTemplate.Networks = append(spec.TaskTemplate.Networks, swarm.NetworkAttachmentConfig{Target: api.Network})
	}
}
