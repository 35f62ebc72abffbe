package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/policy"
)

// handleGetPolicy serves GET /v1/policy (admin): the policy in force, as
// set, and where it comes from.
func (s *Server) handleGetPolicy(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, policyToWire(s.policies.State()))
}

// handlePutPolicy serves PUT /v1/policy (admin): the document replaces the
// policy in force for every job submitted from now on, and is kept in the
// store. A server whose policy comes from a file refuses it (409): the file
// is the operator's record, edited there and reloaded with SIGHUP.
func (s *Server) handlePutPolicy(w http.ResponseWriter, r *http.Request) {
	if err := checkJSONContentType(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req types.PolicySpec
	if err := decodeJSON(http.MaxBytesReader(w, r.Body, s.maxBody), &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.policies.Replace(r.Context(), policyFromWire(req))
	var invalid *policy.InvalidError
	switch {
	case errors.As(err, &invalid):
		s.writeError(w, r, jobs.Errorf(jobs.EINVALID, "%s", invalid.Err))
		return
	case errors.Is(err, policy.ErrFromFile):
		s.writeError(w, r, jobs.Errorf(jobs.ECONFLICT, "policy: this server reads its policy from %s (serve --policy): edit that file and send the server SIGHUP", st.File))
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "policy set through the API",
		slog.Any("tenants_with_own_rules", st.Policy.Tenants()),
		slog.String("by", requestPrincipal(r).TokenID))
	s.writeJSON(w, r, http.StatusOK, policyToWire(st))
}

// handleGetTenantPolicy serves GET /v1/policy/tenants/{tenant}: the rules
// in force for a tenant, {tenant} in patterns replaced by its name, so that
// its users can see what they may ask for.
// A token reads its own tenant's; an admin any tenant's.
func (s *Server) handleGetTenantPolicy(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if err := auth.ValidateTenant(tenant); err != nil {
		s.writeError(w, r, err)
		return
	}
	if p := requestPrincipal(r); !p.Admin() && p.Tenant != tenant {
		s.writeError(w, r, jobs.Errorf(jobs.EFORBIDDEN, "tenant: only admin tokens read other tenants' policies; this token's tenant is %s", p.Tenant))
		return
	}
	st := s.policies.State()
	s.writeJSON(w, r, http.StatusOK, types.TenantPolicy{
		Tenant: tenant, Source: string(st.Source), Since: st.Since.UTC(),
		Rules: rulesToWire(st.Policy.ForTenant(tenant)),
	})
}

func policyToWire(st policy.State) types.Policy {
	out := types.Policy{Source: string(st.Source), File: st.File, Since: st.Since.UTC(),
		Policy: PolicyFileToWire(st.Policy.File()), ReloadError: st.ReloadError}
	if !st.ReloadFailedAt.IsZero() {
		at := st.ReloadFailedAt.UTC()
		out.ReloadFailedAt = &at
	}
	return out
}

// PolicyFileToWire, rulesToWire and policyFromWire convert through JSON:
// the wire types and the policy's are the one format of policy files, field
// for field (a test holds them to it).

// PolicyFileToWire is the policy document f as PUT /v1/policy takes it.
func PolicyFileToWire(f policy.File) types.PolicySpec {
	var out types.PolicySpec
	mustRecode(f, &out)
	return out
}

func rulesToWire(r policy.Rules) types.PolicyRules {
	var out types.PolicyRules
	mustRecode(r, &out)
	return out
}

func policyFromWire(spec types.PolicySpec) policy.File {
	var f policy.File
	mustRecode(spec, &f)
	return f
}

// mustRecode copies from into to through JSON; both are plain structs of
// the same fields, so it cannot fail.
func mustRecode(from, to any) {
	b, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(b, to)
	}
	if err != nil {
		panic(fmt.Sprintf("api: converting %T: %v", from, err))
	}
}
