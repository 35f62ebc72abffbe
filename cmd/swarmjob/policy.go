package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api"
	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
	"github.com/swarmjob/swarmjob/policy"
)

// newPolicyCmd returns the policy command and its subcommands, which show
// and change the rules jobs must follow (docs/security.md, "Policy").
func newPolicyCmd(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show or set the rules jobs must follow",
		Long: "The policy says, per tenant, which images, mounts, secrets and configs jobs may\n" +
			"use and the ceilings on what they ask for (docs/security.md, \"Policy\").\n" +
			"  swarmjob policy get                 the whole policy (admin), as a file\n" +
			"  swarmjob policy get --tenant NAME   the rules in force for one tenant\n" +
			"  swarmjob policy set FILE            replace the policy (admin)",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPolicyGetCmd(env), newPolicySetCmd(env))
	return cmd
}

func newPolicyGetCmd(env *cliEnv) *cobra.Command {
	var tenant, output string
	cmd := &cobra.Command{
		Use:   "get [--tenant NAME]",
		Short: "Print the policy, or one tenant's rules",
		Long: "Without --tenant, print the whole policy in force (admin) in the format of a\n" +
			"policy file, YAML or JSON, which `swarmjob policy set` takes back. With --tenant, print the\n" +
			"rules in force for that tenant, its own over the defaults; a tenant's token\n" +
			"reads its own tenant's.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != outputYAML && output != outputJSON {
				return usageErrorf("--output: must be yaml or json, got %q", output)
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			if tenant != "" {
				tp, err := c.TenantPolicy(cmd.Context(), tenant)
				if err != nil {
					return err
				}
				if output == outputJSON {
					return writeJSON(env.stdout, tp)
				}
				fmt.Fprintf(env.stdout, "# rules of tenant %s: its own over the defaults (policy source: %s, since %s)\n",
					tp.Tenant, tp.Source, tp.Since.Format("2006-01-02T15:04:05Z07:00"))
				return writeYAML(env.stdout, tp.Rules)
			}
			p, err := c.Policy(cmd.Context())
			var apiErr *client.Error
			if errors.As(err, &apiErr) && apiErr.Code == types.CodeForbidden {
				return fmt.Errorf("%w; a tenant's token reads its own rules with --tenant NAME", err)
			}
			if err != nil {
				return err
			}
			if output == outputJSON {
				// The document alone, as set takes it back; JSON has no
				// comments for where it comes from (GET /v1/policy has).
				return writeJSON(env.stdout, p.Policy)
			}
			fmt.Fprintf(env.stdout, "# policy source: %s, since %s\n", policySource(p), p.Since.Format("2006-01-02T15:04:05Z07:00"))
			if p.ReloadError != "" {
				env.errorf("the last SIGHUP did not load %s (%s): %s; the policy in force is the one below", p.File, p.ReloadFailedAt.Format("2006-01-02T15:04:05Z07:00"), p.ReloadError)
			}
			return writeYAML(env.stdout, p.Policy)
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "print the rules in force for this tenant")
	cmd.Flags().StringVarP(&output, "output", "o", outputYAML, "yaml or json")
	completeFlagValues(cmd, "output", outputYAML, outputJSON)
	return cmd
}

// policySource says where a policy comes from, as an operator reads it.
func policySource(p *types.Policy) string {
	switch p.Source {
	case types.PolicySourceFile:
		return "the file " + p.File + " (serve --policy; edit it and send the server SIGHUP)"
	case types.PolicySourceAPI:
		return "set through the API (swarmjob policy set)"
	default:
		return "the built-in defaults"
	}
}

func newPolicySetCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "set FILE",
		Short: "Replace the policy (admin)",
		Long: "Replace the whole policy with FILE (YAML or JSON, the format of serve --policy;\n" +
			"- for stdin). It is checked here and by the server, applies to every job\n" +
			"submitted from then on (and to the tenants' caps on active attempts at once),\n" +
			"and the server keeps it across restarts. A server started with --policy\n" +
			"refuses it: edit its file and send it SIGHUP instead.",
		Args: exactlyOne("policy file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := readPolicyFile(env, args[0])
			if err != nil {
				return err
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			p, err := c.SetPolicy(cmd.Context(), spec)
			if err != nil {
				return err
			}
			own := "no tenant has rules of its own"
			if len(p.Policy.Tenants) > 0 {
				own = "tenants with rules of their own: " + strings.Join(slices.Sorted(maps.Keys(p.Policy.Tenants)), ", ")
			}
			env.errorf("policy set (%s); in force for jobs submitted from now on", own)
			return nil
		},
	}
}

// readPolicyFile reads a policy document from the file named name, or stdin
// for "-", and checks it as the server does: strictly, naming the field of
// any problem.
func readPolicyFile(env *cliEnv, name string) (types.PolicySpec, error) {
	// A policy file's own bound (policy.Load's); its JSON form is held to
	// the server's body limit below.
	data, label, err := readInput(env, name, 1<<20)
	if err != nil {
		return types.PolicySpec{}, err
	}
	p, err := policy.Parse(data)
	if err != nil {
		return types.PolicySpec{}, fmt.Errorf("%s: %w", label, err)
	}
	// The checked document, as the wire carries it.
	spec := api.PolicyFileToWire(p.File())
	b, err := json.Marshal(spec)
	if err != nil {
		return types.PolicySpec{}, err
	}
	if len(b) > api.DefaultMaxBodyBytes {
		return types.PolicySpec{}, fmt.Errorf("%s: %d bytes as JSON, more than the server takes (%d)", label, len(b), api.DefaultMaxBodyBytes)
	}
	return spec, nil
}
